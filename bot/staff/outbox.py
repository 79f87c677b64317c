"""The staff-alert outbox: alerts are rows first, deliveries second.

`enqueue` runs in the same transaction as the escalation, lead or handoff it
announces, so an alert exists as soon as that record does. Delivery:

* **Lanes.** Each destination kind (webhook, email, staff SMS, patient SMS) has
  its own delivery loop, so a slow or failing webhook never delays an SMS.
* **Priority.** Within a lane the due row with the highest `priority` goes
  first: crisis alerts before everything else, then the oldest.
* **Leases.** A row is claimed with one conditional UPDATE (still pending, due,
  and no live lease) whose rowcount says whether this worker won it; the claim
  counts the attempt and sets `claimed_by` and `lease_until`. Several workers
  (replicas) therefore never deliver the same row at once, on SQLite and on
  PostgreSQL alike. A worker that dies mid-delivery leaves its lease behind;
  once it expires another worker retries the row, as the next attempt.
* **Idempotency.** Every attempt carries `alert-<id>` and its attempt number
  (bot/staff/notifiers.py), so a receiver recognises a retry and drops a
  duplicate.
* **Time limits.** One attempt is cut off after OUTBOX_ATTEMPT_TIMEOUT_SECONDS;
  a failed row waits at least twice that (OUTBOX_RETRY_SECONDS, doubling up to
  OUTBOX_MAX_BACKOFF_SECONDS) and the lease always outlasts an attempt.

Nothing is ever dropped: a failed row stays pending with its backoff.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.ops import heartbeat
from bot.staff.notifiers import Delivery, Notifier, configured_targets, deliver_via, notifiers
from bot.store.db import session_scope
from bot.store.models import Alert, utcnow
from bot.store.sms_contacts import is_opted_out

logger = logging.getLogger(__name__)

# A stuck network call is abandoned this long after the attempt timeout.
DEADLINE_GRACE_SECONDS = 1.0
# Due rows looked at per claim; a lost race moves on to the next one.
CLAIM_CANDIDATES = 5


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


# --- Time limits ---------------------------------------------------------------


def attempt_deadline(settings: Settings) -> float:
    """The longest one attempt may take before it is abandoned as failed."""
    return settings.outbox_attempt_timeout_seconds + DEADLINE_GRACE_SECONDS


def backoff_seconds(attempts: int, settings: Settings) -> float:
    """Wait after the `attempts`-th failure: always longer than one attempt may take."""
    first = max(settings.outbox_retry_seconds, 2 * settings.outbox_attempt_timeout_seconds)
    cap = max(settings.outbox_max_backoff_seconds, first)
    return min(first * 2 ** max(attempts - 1, 0), cap)


def lease_seconds(settings: Settings) -> float:
    """How long a claim holds: well beyond the longest attempt, so a live worker keeps it."""
    return max(settings.outbox_lease_seconds, 2 * attempt_deadline(settings))


class AttemptTimeout(TimeoutError):
    pass


def attempt(sender: object, delivery: Delivery, settings: Settings) -> None:
    """One delivery attempt with a hard deadline (socket timeouts alone do not bound
    a server that drips its answer). A call still running at the deadline is left to
    finish in its daemon thread; the row is retried with the same idempotency key."""
    outcome: list[BaseException] = []
    done = threading.Event()

    def run() -> None:
        try:
            deliver_via(sender, delivery)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name=f"outbox-alert-{delivery.alert_id}", daemon=True).start()
    deadline = attempt_deadline(settings)
    if not done.wait(deadline):
        raise AttemptTimeout(f"no answer within {deadline:g} s")
    if outcome:
        raise outcome[0]


# --- Claiming --------------------------------------------------------------------


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _claimable(now):  # type: ignore[no-untyped-def]
    return (
        Alert.status == "pending",
        Alert.next_attempt_at <= now,
        or_(Alert.lease_until.is_(None), Alert.lease_until < now),
    )


@dataclass(frozen=True)
class Claim:
    delivery: Delivery
    notifier: str
    abandoned: bool = False  # a previous worker's lease had expired mid-delivery
    cancelled: bool = False  # an SMS to a number that opted out: not sent, done


def claim_next(settings: Settings, lane: str | Iterable[str], worker_id: str) -> Claim | None:
    """Claim the most urgent due row of a lane (None when nothing is due).

    The claim is committed before anything is sent, so other workers see the lease.
    """
    lanes = [lane] if isinstance(lane, str) else list(lane)
    now = utcnow()
    lease_until = now + timedelta(seconds=lease_seconds(settings))
    with session_scope() as session:
        candidates = session.execute(
            select(Alert.id, Alert.lease_until, Alert.claimed_by)
            .where(Alert.notifier.in_(lanes), *_claimable(now))
            .order_by(Alert.priority.desc(), Alert.id)
            .limit(CLAIM_CANDIDATES)
        ).all()
    for alert_id, old_lease, old_worker in candidates:
        with session_scope() as session:
            won = session.execute(
                update(Alert)
                .where(Alert.id == alert_id, *_claimable(now))
                .values(claimed_by=worker_id, lease_until=lease_until, attempts=Alert.attempts + 1)
                .execution_options(synchronize_session=False)
            ).rowcount
            if won != 1:
                continue  # another worker took it first
            alert = session.get(Alert, alert_id)
            assert alert is not None
            abandoned = old_lease is not None
            if abandoned:
                logger.warning(
                    "Alert %s: worker %s stopped during a delivery (lease expired); "
                    "retrying it as attempt %s with the same idempotency key",
                    alert_id,
                    old_worker,
                    alert.attempts,
                )
            delivery = Delivery(
                alert_id=alert.id,
                kind=alert.kind,
                target=alert.target,
                subject=alert.subject,
                body=alert.body,
                attempt=alert.attempts,
            )
            if sms_blocked(session, alert):
                alert.status = "cancelled"
                alert.lease_until = None
                alert.last_error = "the recipient opted out of SMS"
                logger.info("Alert %s cancelled: the number opted out of SMS", alert_id)
                return Claim(delivery, alert.notifier, abandoned, cancelled=True)
            return Claim(delivery, alert.notifier, abandoned)
    return None


def record_success(delivery: Delivery) -> None:
    """Delivered is delivered: the row is sent even if its lease ran out meanwhile."""
    with session_scope() as session:
        session.execute(
            update(Alert)
            .where(Alert.id == delivery.alert_id, Alert.status == "pending")
            .values(status="sent", sent_at=utcnow(), lease_until=None, last_error=None)
            .execution_options(synchronize_session=False)
        )


def record_failure(
    delivery: Delivery, error: BaseException, settings: Settings, worker_id: str
) -> None:
    """Back off; only while the row is still this worker's claim (not someone's retry)."""
    with session_scope() as session:
        session.execute(
            update(Alert)
            .where(
                Alert.id == delivery.alert_id,
                Alert.status == "pending",
                Alert.claimed_by == worker_id,
                Alert.attempts == delivery.attempt,
            )
            .values(
                last_error=f"{type(error).__name__}: {error}"[:2000],
                next_attempt_at=utcnow()
                + timedelta(seconds=backoff_seconds(delivery.attempt, settings)),
                lease_until=None,
            )
            .execution_options(synchronize_session=False)
        )


# --- Delivering ------------------------------------------------------------------


@dataclass
class Lane:
    """The delivery loop of one destination kind (e.g. "sms") in one worker."""

    name: str
    sender: object
    settings: Settings
    worker_id: str
    last_tick: float = 0.0

    def step(self) -> str | None:
        """Claim and try one due row: "sent", "failed", "cancelled", or None if none is due."""
        self.last_tick = time.monotonic()
        claim = claim_next(self.settings, self.name, self.worker_id)
        if claim is None:
            return None
        if claim.cancelled:
            return "cancelled"
        delivery = claim.delivery
        try:
            attempt(self.sender, delivery, self.settings)
        except Exception as exc:  # noqa: BLE001 - any failure means "retry later"
            record_failure(delivery, exc, self.settings, self.worker_id)
            logger.warning(
                "Alert %s via %s failed (attempt %s, %s); will retry",
                delivery.alert_id,
                self.name,
                delivery.attempt,
                type(exc).__name__,
            )
            return "failed"
        finally:
            self.last_tick = time.monotonic()
        record_success(delivery)
        logger.info(
            "Alert %s delivered via %s (attempt %s)", delivery.alert_id, self.name, delivery.attempt
        )
        return "sent"

    def drain(self, limit: int) -> tuple[int, int]:
        delivered = failed = 0
        for _ in range(limit):
            result = self.step()
            if result is None:
                break
            delivered += result == "sent"
            failed += result == "failed"
        return delivered, failed

    def run(self, stop: threading.Event) -> None:
        """Deliver until `stop` is set; sleep a poll interval whenever nothing is due."""
        while not stop.is_set():
            try:
                result = self.step()
            except Exception:  # the database may be briefly unavailable; keep going
                logger.exception("Outbox lane %s: pass failed; retrying", self.name)
                result = None
            if result is None:
                stop.wait(self.settings.outbox_poll_seconds)


def lanes(
    settings: Settings, senders: dict[str, Notifier] | dict[str, object], worker_id: str
) -> list[Lane]:
    return [Lane(name, sender, settings, worker_id) for name, sender in senders.items()]


def deliver_due(
    settings: Settings,
    senders: dict[str, Notifier] | dict[str, object] | None = None,
    limit: int = 50,
    *,
    worker_id: str | None = None,
) -> tuple[int, int]:
    """One pass: every lane, concurrently, tries its due rows once; returns (delivered, failed)."""
    senders = senders or notifiers(settings)
    worker_lanes = lanes(settings, senders, worker_id or new_worker_id())
    if len(worker_lanes) == 1:
        return worker_lanes[0].drain(limit)
    with ThreadPoolExecutor(len(worker_lanes), thread_name_prefix="outbox-lane") as pool:
        results = list(pool.map(lambda lane: lane.drain(limit), worker_lanes))
    return sum(r[0] for r in results), sum(r[1] for r in results)


def run_worker(
    settings: Settings, *, once: bool = False, stop: threading.Event | None = None
) -> None:
    """Deliver alerts until stopped (the `python -m bot outbox work` process).

    One thread per lane; this thread writes the heartbeat while every lane is
    alive and has moved within a lease (a hung lane makes the health check fail).
    SIGTERM/SIGINT stop it after the attempts in flight (at most one timeout).
    """
    senders = notifiers(settings)
    if once:
        try:
            deliver_due(settings, senders)
        except Exception:
            logger.exception("Outbox pass failed")
        else:
            heartbeat.beat(settings)
        return
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    worker_id = new_worker_id()
    worker_lanes = lanes(settings, senders, worker_id)
    threads = [
        threading.Thread(target=lane.run, args=(stop,), name=f"outbox-{lane.name}", daemon=True)
        for lane in worker_lanes
    ]
    for thread in threads:
        thread.start()
    logger.info("Outbox worker %s: lanes %s", worker_id, ", ".join(senders))
    stale_after = lease_seconds(settings) + 2 * settings.outbox_poll_seconds
    while not stop.is_set():
        now = time.monotonic()
        if all(t.is_alive() for t in threads) and all(
            now - lane.last_tick < stale_after for lane in worker_lanes
        ):
            heartbeat.beat(settings)  # `python -m bot outbox health` checks it
        else:
            logger.error("Outbox worker: a delivery lane is stuck; not writing the heartbeat")
        stop.wait(settings.outbox_poll_seconds)
    for thread in threads:
        thread.join(timeout=attempt_deadline(settings) + 1)
    logger.info("Outbox worker %s stopped", worker_id)


# --- Patient-facing SMS (bot/channels/twilio_sms.py) -------------------------
# Replies are outbox rows like staff alerts, so a failed send is retried. The
# channel tries each row at once after commit (`deliver_now`); the worker only
# sees a row after SMS_WORKER_GRACE_SECONDS (and never while the channel's lease
# holds), so the two never send it twice.

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

    A row is claimed with a conditional UPDATE (still pending, never tried, no
    lease), so it is sent at most once here; on failure it gets the normal
    backoff and the worker retries it, and the rest of the batch is left to the
    worker too, so the SMS of one reply keep their order.
    """
    senders = senders or notifiers(settings)
    worker_id = f"immediate:{new_worker_id()}"
    sent = 0
    for alert_id in alert_ids:
        now = utcnow()
        notifier = PATIENT_SMS_NOTIFIER
        with session_scope() as session:
            claimed = session.execute(
                update(Alert)
                .where(
                    Alert.id == alert_id,
                    Alert.status == "pending",
                    Alert.attempts == 0,
                    Alert.lease_until.is_(None),
                )
                .values(
                    attempts=1,
                    claimed_by=worker_id,
                    lease_until=now + timedelta(seconds=lease_seconds(settings)),
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            alert = session.get(Alert, alert_id) if claimed else None
            if alert is not None and sms_blocked(session, alert):
                alert.status = "cancelled"
                alert.lease_until = None
                alert.last_error = "the recipient opted out of SMS"
                continue
            if alert is None:
                continue
            notifier = alert.notifier
            delivery = Delivery(alert.id, alert.kind, alert.target, alert.subject, alert.body, 1)
        try:
            attempt(senders[notifier], delivery, settings)
        except Exception as exc:  # noqa: BLE001 - any failure means "the worker retries"
            record_failure(delivery, exc, settings, worker_id)
            logger.warning("SMS %s failed (attempt 1); the outbox worker will retry", alert_id)
            break
        record_success(delivery)
        sent += 1
    return sent
