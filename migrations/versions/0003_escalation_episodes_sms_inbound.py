"""escalation episodes and their messages; SMS MessageSid de-duplication

Revision ID: 0003_episodes_sms_inbound
Revises: 0002_outbox_console
Create Date: 2026-12-01 10:00:00.000000

- escalations.message_count / last_message_at / last_alert_at: repeated crisis
  messages of one conversation update one escalation (an episode), and staff get
  at most one update alert per ESCALATION_UPDATE_MINUTES.
- escalation_messages: each crisis message of an episode (capped), keyed by the
  user message so that recording it again changes nothing.
- sms_inbound: Twilio MessageSids already received, so a replayed webhook gets
  empty TwiML and no second reply.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_episodes_sms_inbound"
down_revision = "0002_outbox_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("message_count", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(sa.Column("last_message_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_alert_at", sa.DateTime(), nullable=True))
    # Existing escalations: one message, alerted when they were created.
    op.execute(
        sa.text("UPDATE escalations SET last_message_at = created_at, last_alert_at = created_at")
    )

    op.create_table(
        "escalation_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("message_key", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_key"),
    )
    with op.batch_alter_table("escalation_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_escalation_messages_escalation_id"), ["escalation_id"], unique=False
        )

    op.create_table(
        "sms_inbound",
        sa.Column("message_sid", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("message_sid"),
    )
    with op.batch_alter_table("sms_inbound", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sms_inbound_received_at"), ["received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sms_inbound", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sms_inbound_received_at"))
    op.drop_table("sms_inbound")

    with op.batch_alter_table("escalation_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_messages_escalation_id"))
    op.drop_table("escalation_messages")

    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_column("last_alert_at")
        batch_op.drop_column("last_message_at")
        batch_op.drop_column("message_count")
