"""The staff-alert outbox: alerts are rows first, deliveries second.

`enqueue` runs in the same transaction as the escalation, lead or handoff it
announces, so an alert exists as soon as that record does. `deliver_due`
sends what is due, one row at a time, and on failure keeps the row with an
exponential backoff; nothing is ever dropped. Row claiming uses
`FOR UPDATE SKIP LOCKED` on PostgreSQL so several workers can run.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.db import session_scope
from bot.models import Alert, utcnow
from bot.notifiers import Notifier, configured_targets, notifiers

logger = logging.getLogger(__name__)

BASE_BACKOFF_SECONDS = 2.0


def enqueue(
    session: Session, settings: Settings, *, kind: str, ref_id: int, subject: str, body: str
) -> list[Alert]:
    """Add one pending alert per configured staff destination (flushed, not committed)."""
    alerts = [
        Alert(
            kind=kind, ref_id=ref_id, notifier=notifier, target=target, subject=subject, body=body
        )
        for notifier, target in configured_targets(settings)
    ]
    if not alerts:
        logger.warning(
            "No staff notifier is configured: %s %s is only in the database", kind, ref_id
        )
    session.add_all(alerts)
    session.flush()
    return alerts


def backoff_seconds(attempts: int, settings: Settings) -> float:
    return min(
        BASE_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), settings.outbox_max_backoff_seconds
    )


def deliver_due(
    settings: Settings, senders: dict[str, Notifier] | None = None, limit: int = 50
) -> tuple[int, int]:
    """Try every due alert once; returns (delivered, failed)."""
    senders = senders or notifiers(settings)
    delivered = failed = 0
    for _ in range(limit):
        with session_scope() as session:
            alert = session.scalars(
                select(Alert)
                .where(Alert.status == "pending", Alert.next_attempt_at <= utcnow())
                .order_by(Alert.kind != "crisis", Alert.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if alert is None:
                break
            alert.attempts += 1
            try:
                senders[alert.notifier].send(alert.target, alert.subject, alert.body)
            except Exception as exc:  # noqa: BLE001 - any failure means "retry later"
                alert.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                alert.next_attempt_at = utcnow() + timedelta(
                    seconds=backoff_seconds(alert.attempts, settings)
                )
                failed += 1
                logger.warning(
                    "Alert %s via %s failed (attempt %s); will retry",
                    alert.id,
                    alert.notifier,
                    alert.attempts,
                )
            else:
                alert.status = "sent"
                alert.sent_at = utcnow()
                alert.last_error = None
                delivered += 1
                logger.info("Alert %s delivered via %s", alert.id, alert.notifier)
    return delivered, failed


def run_worker(settings: Settings, *, once: bool = False) -> None:
    """Deliver alerts until stopped (the `python -m bot outbox work` process)."""
    senders = notifiers(settings)
    while True:
        try:
            deliver_due(settings, senders)
        except Exception:  # the database may be briefly unavailable; keep going
            logger.exception("Outbox pass failed; retrying")
        if once:
            return
        time.sleep(settings.outbox_poll_seconds)
