"""buttons under content answers

Revision ID: 0007_content_buttons
Revises: 0006_staff_messages
Create Date: 2026-12-03 12:00:00.000000

- content_items.buttons: the flows an answer offers as buttons, as written in
  its content file (`[{"title": ..., "intent": ...}]`); existing rows get `[]`
  (no buttons) until the next `python -m bot content load`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_content_buttons"
down_revision = "0006_staff_messages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("content_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("buttons", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("content_items", schema=None) as batch_op:
        batch_op.drop_column("buttons")
