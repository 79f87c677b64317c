"""staff takeover: messages from staff to the person; staff first names

Revision ID: 0006_staff_messages
Revises: 0005_callbacks_booking_for
Create Date: 2026-12-02 03:00:00.000000

- staff_messages: what the clinic sent during a takeover (joined, staff, handed_back),
  polled by the widget and REST clients by id, and texted to SMS conversations.
- staff_users.first_name: the name patients see on staff messages.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_staff_messages"
down_revision = "0005_callbacks_booking_for"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("staff_name", sa.String(length=60), nullable=False),
        sa.Column("staff_email", sa.String(length=320), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_staff_messages_conversation", "staff_messages", ["conversation_id", "id"])
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_name", sa.String(length=60), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_column("first_name")
    op.drop_index("ix_staff_messages_conversation", table_name="staff_messages")
    op.drop_table("staff_messages")
