"""The staff-alert outbox: nothing is dropped, failures are retried with backoff."""

from __future__ import annotations

import smtplib
from datetime import timedelta

from sqlalchemy import select, update

from bot.staff.escalation import record_escalation
from bot.staff.notifiers import EmailNotifier, configured_targets
from bot.staff.outbox import backoff_seconds, deliver_due
from bot.store.models import Alert, utcnow
from tests.fakes import FakeSmtp


def test_escalation_and_alert_commit_together(database, settings_with_webhook) -> None:
    escalation_id = record_escalation(
        settings_with_webhook,
        conversation_id="abc",
        channel="rest",
        message="i want to die",
        detected_by="pattern:test",
    )
    with database() as session:
        [alert] = session.scalars(select(Alert)).all()
        assert (alert.kind, alert.ref_id, alert.status) == ("crisis", escalation_id, "pending")
        assert "i want to die" in alert.body and "abc" in alert.body


def test_failed_delivery_is_kept_and_retried(database, settings_with_webhook, webhook) -> None:
    record_escalation(
        settings_with_webhook, conversation_id="c", channel="rest", message="m", detected_by="t"
    )
    webhook.fail_next(1)
    assert deliver_due(settings_with_webhook) == (0, 1)
    with database() as session:
        alert = session.scalars(select(Alert)).one()
        assert alert.status == "pending" and alert.attempts == 1 and "503" in alert.last_error
        # not due again until the backoff has passed
        assert alert.next_attempt_at > utcnow()
        session.execute(update(Alert).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    assert deliver_due(settings_with_webhook) == (1, 0)
    with database() as session:
        alert = session.scalars(select(Alert)).one()
        assert alert.status == "sent" and alert.attempts == 2
    assert webhook.received[0]["text"].startswith("*CRISIS escalation")


def test_unreachable_notifier_keeps_the_alert(database, settings_with_webhook) -> None:
    settings = settings_with_webhook.__class__(
        **{**settings_with_webhook.__dict__, "staff_webhook_url": "http://127.0.0.1:9/none"}
    )
    record_escalation(settings, conversation_id="c", channel="rest", message="m", detected_by="t")
    assert deliver_due(settings) == (0, 1)
    with database() as session:
        assert session.scalars(select(Alert)).one().status == "pending"


def test_backoff_grows_and_is_capped(settings_with_webhook) -> None:
    delays = [backoff_seconds(n, settings_with_webhook) for n in range(1, 12)]
    assert delays == sorted(delays) and delays[0] == 2.0
    assert delays[-1] == settings_with_webhook.outbox_max_backoff_seconds


def test_only_configured_staff_are_targets(settings_with_webhook, webhook) -> None:
    assert configured_targets(settings_with_webhook) == [("webhook", webhook.url)]


def test_email_notifier_talks_smtp(settings_with_webhook) -> None:
    smtp = FakeSmtp()
    smtp.start()
    try:
        settings = settings_with_webhook.__class__(
            **{
                **settings_with_webhook.__dict__,
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp.port,
                "smtp_starttls": False,
            }
        )
        EmailNotifier(settings).send("oncall@clinic.example.org", "CRISIS #1", "Call them now")
    finally:
        smtp.stop()
    [message] = smtp.messages
    assert message["to"] == ["oncall@clinic.example.org"]
    assert "Subject: CRISIS #1" in message["data"] and "Call them now" in message["data"]


def test_smtp_failure_raises_for_retry(settings_with_webhook) -> None:
    settings = settings_with_webhook.__class__(
        **{**settings_with_webhook.__dict__, "smtp_host": "127.0.0.1", "smtp_port": 9}
    )
    try:
        EmailNotifier(settings).send("a@b.org", "s", "b")
    except (OSError, smtplib.SMTPException):
        return
    raise AssertionError("an unreachable SMTP server must raise so the outbox retries")
