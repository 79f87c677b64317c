"""outbox leases and priority; console session versions and per-address login failures

Revision ID: 0002_outbox_console
Revises: 0001
Create Date: 2026-11-30 10:00:00.000000

- alerts.priority: crisis alerts are claimed before everything else (higher first).
- alerts.claimed_by / alerts.lease_until: a worker claims an alert with a lease; a
  crashed worker's in-flight alert is claimed again once the lease has expired.
- staff_users.session_version: bumped on logout and password change/reset, so every
  signed session cookie issued before is refused.
- console_login_failures: failed console logins by client address (lockout per
  address as well as per account).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_outbox_console"
down_revision = "0001"
branch_labels = None
depends_on = None

CRISIS_PRIORITY = 100
HANDOFF_PRIORITY = 10


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(), nullable=True))
        batch_op.create_index(
            "ix_alerts_claim", ["status", "priority", "next_attempt_at"], unique=False
        )
    # Alerts already waiting keep the order the new worker gives them.
    op.execute(
        sa.text("UPDATE alerts SET priority = :p WHERE kind LIKE 'crisis%'").bindparams(
            p=CRISIS_PRIORITY
        )
    )
    op.execute(
        sa.text("UPDATE alerts SET priority = :p WHERE kind LIKE 'handoff%'").bindparams(
            p=HANDOFF_PRIORITY
        )
    )

    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(sa.Column("password_changed_at", sa.DateTime(), nullable=True))

    op.create_table(
        "console_login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("failed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("console_login_failures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_console_login_failures_address", ["client_address", "failed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("console_login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_console_login_failures_address")
    op.drop_table("console_login_failures")

    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_column("password_changed_at")
        batch_op.drop_column("session_version")

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_claim")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("priority")
