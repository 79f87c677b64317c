"""The staff-alert outbox: nothing is dropped, failures are retried with backoff;
destinations are delivered concurrently, crisis first, each alert under a lease and
with one idempotency key on every attempt."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.config import Settings, get_settings
from bot.staff.escalation import record_crisis
from bot.staff.notifiers import EmailNotifier, configured_targets
from bot.staff.outbox import (
    attempt_deadline,
    backoff_seconds,
    claim_next,
    deliver_due,
    enqueue,
    lease_seconds,
    run_worker,
)
from bot.store.db import init_db, session_scope
from bot.store.models import Alert, Escalation, utcnow
from tests.conftest import ROOT, SMS_ENV, postgres_database
from tests.fakes import FakeSmtp, FakeTwilio, FakeWebhook

STAFF_SMS = "+15550100123"
STAFF_EMAIL = "oncall@clinic.example.org"


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def alerts(notifier: str | None = None) -> list[Alert]:
    with session_scope() as session:
        query = select(Alert).order_by(Alert.id)
        if notifier:
            query = query.where(Alert.notifier == notifier)
        return list(session.scalars(query))


def make_due() -> None:
    with session_scope() as session:
        session.execute(update(Alert).values(next_attempt_at=utcnow() - timedelta(seconds=1)))


def as_epoch(moment: datetime) -> float:
    return moment.replace(tzinfo=timezone.utc).timestamp()


def crisis(settings: Settings, n: int = 1) -> int:
    return record_crisis(
        settings,
        conversation_id=f"conv-{n}",
        channel="rest",
        message="i want to die",
        detected_by="t",
    ).escalation_id


# --- Basics ------------------------------------------------------------------------


def test_escalation_and_alert_commit_together(database, settings_with_webhook) -> None:
    escalation_id = record_crisis(
        settings_with_webhook,
        conversation_id="abc",
        channel="rest",
        message="i want to die",
        detected_by="pattern:test",
    ).escalation_id
    with database() as session:
        [alert] = session.scalars(select(Alert)).all()
        assert (alert.kind, alert.ref_id, alert.status) == ("crisis", escalation_id, "pending")
        assert "i want to die" in alert.body and "abc" in alert.body
        assert alert.priority == 100 and alert.lease_until is None


def test_failed_delivery_is_kept_and_retried(database, settings_with_webhook, webhook) -> None:
    record_crisis(
        settings_with_webhook, conversation_id="c", channel="rest", message="m", detected_by="t"
    )
    webhook.fail_next(1)
    assert deliver_due(settings_with_webhook) == (0, 1)
    with database() as session:
        alert = session.scalars(select(Alert)).one()
        assert alert.status == "pending" and alert.attempts == 1 and "503" in alert.last_error
        # not due again until the backoff has passed, and no lease is left behind
        assert alert.next_attempt_at > utcnow() and alert.lease_until is None
        session.execute(update(Alert).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    assert deliver_due(settings_with_webhook) == (1, 0)
    with database() as session:
        alert = session.scalars(select(Alert)).one()
        assert alert.status == "sent" and alert.attempts == 2
    assert webhook.received[0]["text"].startswith("*CRISIS escalation")


def test_unreachable_notifier_keeps_the_alert(database, settings_with_webhook) -> None:
    settings = replace(settings_with_webhook, staff_webhook_url="http://127.0.0.1:9/none")
    record_crisis(settings, conversation_id="c", channel="rest", message="m", detected_by="t")
    assert deliver_due(settings) == (0, 1)
    with database() as session:
        assert session.scalars(select(Alert)).one().status == "pending"


def test_backoff_grows_is_capped_and_outlasts_an_attempt(settings_with_webhook) -> None:
    settings = settings_with_webhook
    delays = [backoff_seconds(n, settings) for n in range(1, 12)]
    assert delays == sorted(delays) and delays[0] == settings.outbox_retry_seconds == 10.0
    assert delays[-1] == settings.outbox_max_backoff_seconds
    assert settings.outbox_attempt_timeout_seconds == 5.0
    # Every retry interval and the lease are longer than one attempt may take,
    # even when the timeout is configured longer than the retry interval.
    for timeout in (0.5, 5.0, 30.0):
        s = replace(settings, outbox_attempt_timeout_seconds=timeout)
        assert backoff_seconds(1, s) > attempt_deadline(s)
        assert lease_seconds(s) > attempt_deadline(s)


def test_a_hanging_destination_is_cut_off_at_the_attempt_timeout(
    database, settings_with_webhook, webhook
) -> None:
    settings = replace(settings_with_webhook, outbox_attempt_timeout_seconds=0.5)
    webhook.delay = 5
    crisis(settings)
    assert deliver_due(settings) == (0, 1)
    [alert] = alerts()
    [request] = webhook.requests
    failed_at = as_epoch(alert.next_attempt_at) - backoff_seconds(1, settings)
    assert failed_at - request["at"] < attempt_deadline(settings) + 0.5
    assert "Timeout" in alert.last_error and alert.status == "pending"


def test_only_configured_staff_are_targets(settings_with_webhook, webhook) -> None:
    assert configured_targets(settings_with_webhook) == [("webhook", webhook.url)]


def test_email_notifier_talks_smtp(settings_with_webhook) -> None:
    smtp = FakeSmtp()
    smtp.start()
    try:
        settings = replace(
            settings_with_webhook, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls=False
        )
        EmailNotifier(settings).send("oncall@clinic.example.org", "CRISIS #1", "Call them now")
    finally:
        smtp.stop()
    [message] = smtp.messages
    assert message["to"] == ["oncall@clinic.example.org"]
    assert "Subject: CRISIS #1" in message["data"] and "Call them now" in message["data"]


def test_smtp_failure_raises_for_retry(settings_with_webhook) -> None:
    settings = replace(settings_with_webhook, smtp_host="127.0.0.1", smtp_port=9)
    try:
        EmailNotifier(settings).send("a@b.org", "s", "b")
    except (OSError, smtplib.SMTPException):
        return
    raise AssertionError("an unreachable SMTP server must raise so the outbox retries")


# --- All three staff destinations ------------------------------------------------


@dataclass
class Destinations:
    settings: Settings
    webhook: FakeWebhook
    twilio: FakeTwilio
    smtp: FakeSmtp


@pytest.fixture
def destinations(
    database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Destinations]:  # type: ignore[no-untyped-def]
    """Staff webhook, email (aiosmtpd) and SMS (Twilio fake), all over the network."""
    webhook, twilio, smtp = FakeWebhook(), FakeTwilio(), FakeSmtp()
    for fake in (webhook, twilio, smtp):
        fake.start()
    env = {
        **SMS_ENV,
        "STAFF_WEBHOOK_URL": webhook.url,
        "STAFF_ALERT_EMAILS": STAFF_EMAIL,
        "STAFF_ALERT_SMS_NUMBERS": STAFF_SMS,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SMTP_STARTTLS": "false",
        "TWILIO_API_BASE_URL": twilio.url,
        "OUTBOX_POLL_SECONDS": "0.1",
        "OUTBOX_HEARTBEAT_FILE": str(tmp_path / "outbox.heartbeat"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield Destinations(get_settings(), webhook, twilio, smtp)
    for fake in (webhook, twilio, smtp):
        fake.stop()
    get_settings.cache_clear()


def test_a_15_second_webhook_does_not_delay_the_staff_sms(destinations: Destinations) -> None:
    """The issue's probe: three crises in a row with a webhook that answers in 15 s."""
    d = destinations
    d.webhook.delay = 15
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(d.settings,), kwargs={"stop": stop})
    worker.start()
    try:
        escalations = [crisis(d.settings, n) for n in range(3)]

        def delivered(notifier: str) -> bool:
            return all(a.status == "sent" for a in alerts(notifier))

        wait_until(lambda: delivered("sms") and delivered("email"), 15, "staff SMS and email")
        # The webhook is still busy with the first crisis when all of this is done.
        webhook_alerts = alerts("webhook")
        assert len(webhook_alerts) == 3 and all(a.status == "pending" for a in webhook_alerts)
        assert len(d.webhook.requests) == 1 and d.webhook.received == []
    finally:
        stop.set()
        worker.join(timeout=attempt_deadline(d.settings) + 5)
    assert not worker.is_alive()
    with session_scope() as session:
        created = {e.id: e.created_at for e in session.scalars(select(Escalation))}
    latencies = []
    for alert in alerts("sms") + alerts("email"):
        latency = (alert.sent_at - created[alert.ref_id]).total_seconds()
        latencies.append(latency)
        assert alert.attempts == 1 and latency < 2.0, (alert.notifier, alert.ref_id, latency)
    print(f"\ncrisis -> staff SMS/email with a 15 s webhook: max {max(latencies):.2f} s")
    # Each staff SMS went out exactly once, in crisis order, with its alert id.
    bodies = d.twilio.to(STAFF_SMS)
    assert len(bodies) == 3 and len(d.smtp.messages) == 3
    assert all(f"escalation #{e} " in b for e, b in zip(escalations, bodies, strict=True))


def test_every_attempt_carries_the_same_idempotency_key(destinations: Destinations) -> None:
    d = destinations
    crisis(d.settings)
    d.webhook.fail_next(2)
    d.twilio.fail_next(1)
    for _ in range(3):
        deliver_due(d.settings)
        make_due()
    by_notifier = {a.notifier: a for a in alerts()}
    assert {n: (a.status, a.attempts) for n, a in by_notifier.items()} == {
        "webhook": ("sent", 3),
        "sms": ("sent", 2),
        "email": ("sent", 1),
    }
    # Webhook: one request per attempt, one key, the attempt number visible.
    hook_id = by_notifier["webhook"].id
    headers = [r["headers"] for r in d.webhook.requests]
    assert [h["Idempotency-Key"] for h in headers] == [f"alert-{hook_id}"] * 3
    assert [h["X-Delivery-Attempt"] for h in headers] == ["1", "2", "3"]
    assert [h.get("X-Retry-Attempt") for h in headers] == [None, "1", "2"]
    assert [r["json"]["idempotency_key"] for r in d.webhook.requests] == [f"alert-{hook_id}"] * 3
    assert [r["json"]["alert_id"] for r in d.webhook.requests] == [hook_id] * 3
    assert len(d.webhook.received) == 1
    # SMS: the key as a header and in the text; the retry says it is one.
    sms_id = by_notifier["sms"].id
    sms = d.twilio.requests
    assert [r["headers"]["Idempotency-Key"] for r in sms] == [f"alert-{sms_id}"] * 2
    assert sms[0]["form"]["Body"].endswith(f"[alert-{sms_id}]")
    assert sms[1]["form"]["Body"].endswith(f"[alert-{sms_id}, resent]")
    assert len(d.twilio.to(STAFF_SMS)) == 1
    # Email: a deterministic Message-ID and the key.
    email_id = by_notifier["email"].id
    [message] = d.smtp.messages
    assert f"Message-ID: <alert-{email_id}@clinic.example.org>" in message["data"]
    assert f"X-Idempotency-Key: alert-{email_id}" in message["data"]


# --- Priority ----------------------------------------------------------------------


def test_crisis_alerts_go_before_everything_else(database, settings_with_webhook, webhook) -> None:
    settings = settings_with_webhook
    with session_scope() as session:
        for n in range(3):
            enqueue(session, settings, kind="lead", ref_id=n, subject=f"lead {n}", body="b")
        enqueue(session, settings, kind="handoff", ref_id=9, subject="handoff", body="b")
    crisis(settings)  # queued last
    assert deliver_due(settings) == (5, 0)
    assert [r["json"]["kind"] for r in webhook.requests] == [
        "crisis",
        "handoff",
        "lead",
        "lead",
        "lead",
    ]
    by_kind = {a.kind: a.sent_at for a in alerts()}
    assert by_kind["crisis"] <= by_kind["handoff"] <= by_kind["lead"]


# --- Leases ------------------------------------------------------------------------


def test_a_live_lease_is_never_taken_and_an_expired_one_is_retried_once(
    database, settings_with_webhook, webhook
) -> None:
    settings = settings_with_webhook
    crisis(settings)
    claim = claim_next(settings, "webhook", "worker-that-dies")  # claimed, never finished
    assert claim is not None and claim.delivery.attempt == 1
    assert deliver_due(settings, worker_id="other") == (0, 0)  # the lease holds
    assert webhook.requests == []
    with session_scope() as session:  # ...until it expires
        session.execute(update(Alert).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert deliver_due(settings, worker_id="other") == (1, 0)
    assert deliver_due(settings, worker_id="third") == (0, 0)
    [request] = webhook.requests
    assert request["headers"]["Idempotency-Key"] == f"alert-{claim.delivery.alert_id}"
    assert request["headers"]["X-Retry-Attempt"] == "1"
    [alert] = alerts()
    assert (alert.status, alert.attempts, alert.claimed_by) == ("sent", 2, "other")


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "outbox", "work"],
        cwd=ROOT,
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )


def test_a_worker_killed_mid_delivery_leads_to_exactly_one_retry_with_the_same_key(
    settings_with_webhook, webhook, tmp_path: Path
) -> None:
    """A real worker process, SIGKILLed while the webhook holds its request."""
    env = {
        **os.environ,  # DATABASE_URL and STAFF_WEBHOOK_URL of the fixtures
        "OUTBOX_POLL_SECONDS": "0.1",
        "OUTBOX_ATTEMPT_TIMEOUT_SECONDS": "2",
        "OUTBOX_LEASE_SECONDS": "6",
        "OUTBOX_HEARTBEAT_FILE": str(tmp_path / "hb"),
        "PYTHONPATH": str(ROOT),
    }
    crisis(settings_with_webhook)
    webhook.delay = 60  # the receiver holds the first request: the worker is mid-delivery
    first = start_worker(env, tmp_path / "worker.log")
    try:
        wait_until(lambda: len(webhook.requests) == 1, 30, "the first delivery attempt")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    [orphan] = alerts()
    assert (orphan.status, orphan.attempts) == ("pending", 1)
    assert f":{first.pid}:" in orphan.claimed_by and orphan.lease_until > utcnow()
    webhook.delay = 0
    second = start_worker(env, tmp_path / "worker.log")
    try:
        wait_until(lambda: alerts()[0].status == "sent", 30, "the retry")
        time.sleep(1.0)  # nothing else arrives
    finally:
        second.terminate()
        second.wait(timeout=15)
    assert second.returncode == 0  # SIGTERM stops it cleanly
    retried, *rest = alerts()
    assert rest == [] and (retried.status, retried.attempts) == ("sent", 2)
    assert f":{second.pid}:" in retried.claimed_by
    requests_ = webhook.requests
    assert len(requests_) == 2
    assert {r["headers"]["Idempotency-Key"] for r in requests_} == {f"alert-{retried.id}"}
    assert [r["headers"].get("X-Retry-Attempt") for r in requests_] == [None, "1"]
    # The retry waited for the dead worker's lease.
    assert requests_[1]["at"] >= as_epoch(orphan.lease_until) - 0.5
    assert "stopped during a delivery" in (tmp_path / "worker.log").read_text()


# --- Replicas ----------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def replica_settings(
    request, tmp_path: Path, webhook: FakeWebhook, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:  # type: ignore[no-untyped-def]
    def use(url: str) -> Settings:
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("STAFF_WEBHOOK_URL", webhook.url)
        for name in ("SMTP_HOST", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        get_settings.cache_clear()
        init_db(url)
        return get_settings()

    if request.param == "sqlite":
        yield use(f"sqlite:///{tmp_path / 'replicas.db'}")
    else:
        with postgres_database() as url:
            yield use(url)
    get_settings.cache_clear()


def test_two_workers_never_deliver_the_same_alert(replica_settings: Settings, webhook) -> None:
    settings = replica_settings
    with session_scope() as session:
        for n in range(40):
            enqueue(session, settings, kind="lead", ref_id=n, subject=f"lead {n}", body="b")
    webhook.delay = 0.02
    start = threading.Barrier(2)
    results: dict[str, tuple[int, int]] = {}

    def worker(name: str) -> None:
        start.wait()
        results[name] = deliver_due(settings, limit=100, worker_id=name)

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("replica-a", "replica-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    rows = alerts()
    assert sum(d for d, _ in results.values()) == 40 and all(a.status == "sent" for a in rows)
    delivered = Counter(r["json"]["alert_id"] for r in webhook.requests)
    assert set(delivered) == {a.id for a in rows} and set(delivered.values()) == {1}
    assert {a.claimed_by for a in rows} == {"replica-a", "replica-b"}  # both took part
