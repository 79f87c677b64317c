"""crisis call-backs on escalations; who a consultation request is for

Revision ID: 0005_callbacks_booking_for
Revises: 0004_titles_suggestions
Create Date: 2026-12-01 22:30:00.000000

- escalations.callback_requested_at: when the person asked the care team to
  call them back after the crisis protocol (the number is in `contact`).
- leads.booking_for: the relative the request is for ("mother"), when the
  person writing books for someone else.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_callbacks_booking_for"
down_revision = "0004_titles_suggestions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("callback_requested_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("booking_for", sa.String(length=60), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("booking_for")
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_column("callback_requested_at")
