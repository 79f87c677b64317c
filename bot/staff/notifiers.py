"""Staff notifiers: a Slack-compatible webhook, SMTP email and Twilio SMS.

Each `deliver` either returns (delivered) or raises (the outbox retries later).
Every delivery carries the alert's idempotency key (`alert-<id>`), the same on
every attempt, and its attempt number, so a receiver can drop a duplicate and
recognise a retry:

* webhook: `Idempotency-Key`, `X-Alert-Id`, `X-Delivery-Attempt` headers (and
  `X-Retry-Attempt` from the second attempt on), and the same in the JSON body;
* email: a deterministic `Message-ID` (`<alert-<id>@domain>`) plus
  `X-Idempotency-Key` / `X-Delivery-Attempt` / `X-Retry-Attempt` headers;
* staff SMS: `[alert-<id>]` in the text (`, resent` on a retry) and the key as
  a header on the Twilio request; patient SMS: the header only.

Network calls are limited to OUTBOX_ATTEMPT_TIMEOUT_SECONDS. A notifier only
exists when its settings are present, so alerts go only to the staff that the
clinic configured.
"""

from __future__ import annotations

import json
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

import requests

from bot.config import Settings

IDEMPOTENCY_HEADER = "Idempotency-Key"
STAFF_SMS_MAX_CHARS = 1500


@dataclass(frozen=True)
class Delivery:
    """One attempt to deliver one alert row."""

    alert_id: int
    kind: str
    target: str
    subject: str
    body: str
    attempt: int = 1  # 1 = first attempt; a retry has 2, 3, ...

    @property
    def idempotency_key(self) -> str:
        return idempotency_key(self.alert_id)

    @property
    def is_retry(self) -> bool:
        return self.attempt > 1

    def headers(self) -> dict[str, str]:
        headers = {
            IDEMPOTENCY_HEADER: self.idempotency_key,
            "X-Alert-Id": str(self.alert_id),
            "X-Delivery-Attempt": str(self.attempt),
        }
        if self.is_retry:
            headers["X-Retry-Attempt"] = str(self.attempt - 1)
        return headers


def idempotency_key(alert_id: int) -> str:
    """The same for every attempt of one alert, different for every alert."""
    return f"alert-{alert_id}"


class Notifier(Protocol):
    name: str

    def deliver(self, delivery: Delivery) -> None: ...


def deliver_via(sender: object, delivery: Delivery) -> None:
    """Deliver with `sender.deliver`, or `sender.send(target, subject, body)` if that is all
    it has (simple senders, e.g. in tests)."""
    deliver = getattr(sender, "deliver", None)
    if deliver is not None:
        deliver(delivery)
    else:
        sender.send(delivery.target, delivery.subject, delivery.body)  # type: ignore[attr-defined]


class WebhookNotifier:
    """POSTs Slack-compatible JSON (`{"text": ...}`) to the configured URL."""

    name = "webhook"

    def __init__(self, settings: Settings | None = None) -> None:
        self._timeout = settings.outbox_attempt_timeout_seconds if settings else 5.0

    def deliver(self, delivery: Delivery) -> None:
        payload = {
            "text": f"*{delivery.subject}*\n{delivery.body}",
            "alert_id": delivery.alert_id,
            "idempotency_key": delivery.idempotency_key,
            "attempt": delivery.attempt,
            "kind": delivery.kind,
        }
        response = requests.post(
            delivery.target,
            data=json.dumps(payload),
            headers={"Content-Type": "application/json", **delivery.headers()},
            timeout=self._timeout,
        )
        response.raise_for_status()

    def send(self, target: str, subject: str, body: str) -> None:
        self.deliver(Delivery(0, "", target, subject, body))


class EmailNotifier:
    """Sends a plain-text email through the configured SMTP server."""

    name = "email"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def deliver(self, delivery: Delivery) -> None:
        s = self._settings
        message = EmailMessage()
        message["From"] = s.smtp_from
        message["To"] = delivery.target
        message["Subject"] = delivery.subject
        if delivery.alert_id:
            domain = s.smtp_from.rpartition("@")[2].strip(" >") or "localhost"
            # The same Message-ID on every attempt: mail systems drop the duplicate.
            message["Message-ID"] = f"<{delivery.idempotency_key}@{domain}>"
            message["X-Idempotency-Key"] = delivery.idempotency_key
            message["X-Delivery-Attempt"] = str(delivery.attempt)
            if delivery.is_retry:
                message["X-Retry-Attempt"] = str(delivery.attempt - 1)
        message.set_content(delivery.body)
        timeout = s.outbox_attempt_timeout_seconds
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=timeout) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password)
            smtp.send_message(message)

    def send(self, target: str, subject: str, body: str) -> None:
        self.deliver(Delivery(0, "", target, subject, body))


def staff_sms_text(delivery: Delivery) -> str:
    """`subject: body` with the alert id (and `resent` on a retry), within one long SMS."""
    tag = f" [{delivery.idempotency_key}{', resent' if delivery.is_retry else ''}]"
    text = f"{delivery.subject}: {delivery.body}"
    return text[: STAFF_SMS_MAX_CHARS - len(tag)] + tag


class TwilioSmsNotifier:
    """Sends a staff alert by SMS through Twilio's REST API (or a fake at TWILIO_API_BASE_URL)."""

    name = "sms"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def text(self, delivery: Delivery) -> str:
        return staff_sms_text(delivery)

    def deliver(self, delivery: Delivery) -> None:
        from bot.staff.twilio_api import send_sms

        send_sms(
            self._settings,
            to=delivery.target,
            body=self.text(delivery),
            idempotency_key=delivery.idempotency_key,
            attempt=delivery.attempt,
        )


class PatientSmsNotifier(TwilioSmsNotifier):
    """Sends a reply to a patient exactly as written (no staff subject line)."""

    name = "patient_sms"

    def text(self, delivery: Delivery) -> str:
        return delivery.body


def configured_targets(settings: Settings) -> list[tuple[str, str]]:
    """(notifier name, target) for every staff destination the clinic configured."""
    targets: list[tuple[str, str]] = []
    if settings.staff_webhook_url:
        targets.append((WebhookNotifier.name, settings.staff_webhook_url))
    if settings.smtp_host:
        targets += [(EmailNotifier.name, email) for email in settings.staff_emails]
    if settings.twilio_account_sid and settings.twilio_auth_token:
        targets += [(TwilioSmsNotifier.name, number) for number in settings.staff_sms_numbers]
    return targets


def notifiers(settings: Settings) -> dict[str, Notifier]:
    return {
        WebhookNotifier.name: WebhookNotifier(settings),
        EmailNotifier.name: EmailNotifier(settings),
        TwilioSmsNotifier.name: TwilioSmsNotifier(settings),
        PatientSmsNotifier.name: PatientSmsNotifier(settings),
    }
