"""content titles; "did you mean" offers recorded with the unanswered questions

Revision ID: 0004_titles_suggestions
Revises: 0003_episodes_sms_inbound
Create Date: 2026-12-01 12:00:00.000000

- content_items.title: the item's question title, shown as a suggestion.
- unanswered_questions.kind ("fallback" or "suggestions"), .offered (the
  content ids offered, in order, comma-separated) and .chosen (the content id
  the person picked; empty when they picked none): shown to content authors.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_titles_suggestions"
down_revision = "0003_episodes_sms_inbound"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("content_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("title", sa.String(length=120), nullable=False, server_default="")
        )
    with op.batch_alter_table("unanswered_questions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), nullable=False, server_default="fallback")
        )
        batch_op.add_column(sa.Column("offered", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("chosen", sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("unanswered_questions", schema=None) as batch_op:
        batch_op.drop_column("chosen")
        batch_op.drop_column("offered")
        batch_op.drop_column("kind")
    with op.batch_alter_table("content_items", schema=None) as batch_op:
        batch_op.drop_column("title")
