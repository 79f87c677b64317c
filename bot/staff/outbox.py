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

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.ops import heartbeat
from bot.staff.notifiers import Notifier, configured_targets, notifiers
from bot.store.db import session_scope
from bot.store.models import Alert, utcnow
from bot.store.sms_contacts import is_opted_out

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
            if sms_blocked(session, alert):
                alert.status = "cancelled"
                alert.last_error = "the recipient opted out of SMS"
                logger.info("Alert %s cancelled: the number opted out of SMS", alert.id)
                continue
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
        else:
            heartbeat.beat(settings)  # `python -m bot outbox health` checks it
        if once:
            return
        time.sleep(settings.outbox_poll_seconds)


# --- Patient-facing SMS (bot/channels/twilio_sms.py) -------------------------
# Replies are outbox rows like staff alerts, so a failed send is retried. The
# channel tries each row at once after commit (`deliver_now`); the worker only
# sees a row after SMS_WORKER_GRACE_SECONDS, so the two never send it twice.

SMS_REPLY = "sms_reply"  # bot replies, HELP and picture notes: never to opted-out numbers
SMS_COMPLIANCE = "sms_compliance"  # STOP/START confirmations: sent whatever the opt-out
PATIENT_SMS_NOTIFIER = "patient_sms"
SMS_NOTIFIERS = frozenset({"sms", PATIENT_SMS_NOTIFIER})
SMS_WORKER_GRACE_SECONDS = 30.0


def sms_blocked(session: Session, alert: Alert) -> bool:
    """An SMS to a number that opted out is never sent (checked again at send time)."""
    return (
        alert.notifier in SMS_NOTIFIERS
        and alert.kind != SMS_COMPLIANCE
        and is_opted_out(session, alert.target)
    )


def enqueue_sms(
    session: Session, *, to: str, body: str, ref_id: int, kind: str = SMS_REPLY
) -> Alert | None:
    """Queue one SMS to a patient (flushed, not committed); None if the number opted out."""
    if kind != SMS_COMPLIANCE and is_opted_out(session, to):
        return None
    alert = Alert(
        kind=kind,
        ref_id=ref_id,
        notifier=PATIENT_SMS_NOTIFIER,
        target=to,
        subject="SMS to patient",
        body=body,
        next_attempt_at=utcnow() + timedelta(seconds=SMS_WORKER_GRACE_SECONDS),
    )
    session.add(alert)
    session.flush()
    return alert


def deliver_now(
    settings: Settings, alert_ids: list[int], senders: dict[str, Notifier] | None = None
) -> int:
    """Send just-queued SMS rows in order, once each; returns how many were sent.

    A row is claimed with a conditional UPDATE (still pending, never tried),
    so it is sent at most once here; on failure it gets the normal backoff and
    the worker retries it, and the rest of the batch is left to the worker
    too, so the SMS of one reply keep their order.
    """
    senders = senders or notifiers(settings)
    sent = 0
    for alert_id in alert_ids:
        with session_scope() as session:
            claimed = session.execute(
                update(Alert)
                .where(Alert.id == alert_id, Alert.status == "pending", Alert.attempts == 0)
                .values(attempts=1)
            ).rowcount
            alert = session.get(Alert, alert_id) if claimed else None
            if alert is not None and sms_blocked(session, alert):
                alert.status = "cancelled"
                alert.last_error = "the recipient opted out of SMS"
                continue
        if alert is None:
            continue
        try:
            senders[alert.notifier].send(alert.target, alert.subject, alert.body)
        except Exception as exc:  # noqa: BLE001 - any failure means "the worker retries"
            with session_scope() as session:
                session.execute(
                    update(Alert)
                    .where(Alert.id == alert_id)
                    .values(
                        last_error=f"{type(exc).__name__}: {exc}"[:2000],
                        next_attempt_at=utcnow() + timedelta(seconds=backoff_seconds(1, settings)),
                    )
                )
            logger.warning("SMS %s failed (attempt 1); the outbox worker will retry", alert_id)
            break
        with session_scope() as session:
            session.execute(
                update(Alert)
                .where(Alert.id == alert_id)
                .values(status="sent", sent_at=utcnow(), last_error=None)
            )
        sent += 1
    return sent
