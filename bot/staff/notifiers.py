"""Staff notifiers: a Slack-compatible webhook, SMTP email and Twilio SMS.

Each `send` either returns (delivered) or raises (the outbox retries later).
A notifier only exists when its settings are present, so alerts go only to
the staff that the clinic configured.
"""

from __future__ import annotations

import json
import smtplib
from email.message import EmailMessage
from typing import Protocol

import requests

from bot.config import Settings

HTTP_TIMEOUT_SECONDS = 10


class Notifier(Protocol):
    name: str

    def send(self, target: str, subject: str, body: str) -> None: ...


class WebhookNotifier:
    """POSTs Slack-compatible JSON (`{"text": ...}`) to the configured URL."""

    name = "webhook"

    def send(self, target: str, subject: str, body: str) -> None:
        response = requests.post(
            target,
            data=json.dumps({"text": f"*{subject}*\n{body}"}),
            headers={"Content-Type": "application/json"},
            timeout=HTTP_TIMEOUT_SECONDS,
        )
        response.raise_for_status()


class EmailNotifier:
    """Sends a plain-text email through the configured SMTP server."""

    name = "email"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def send(self, target: str, subject: str, body: str) -> None:
        s = self._settings
        message = EmailMessage()
        message["From"] = s.smtp_from
        message["To"] = target
        message["Subject"] = subject
        message.set_content(body)
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=HTTP_TIMEOUT_SECONDS) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password)
            smtp.send_message(message)


class TwilioSmsNotifier:
    """Sends an SMS through Twilio's REST API (or a local fake at TWILIO_API_BASE_URL)."""

    name = "sms"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def send(self, target: str, subject: str, body: str) -> None:
        from bot.staff.twilio_api import send_sms

        send_sms(self._settings, to=target, body=f"{subject}: {body}"[:1500])


class PatientSmsNotifier:
    """Sends a reply to a patient exactly as written (no staff subject line)."""

    name = "patient_sms"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def send(self, target: str, subject: str, body: str) -> None:
        from bot.staff.twilio_api import send_sms

        send_sms(self._settings, to=target, body=body)


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
        WebhookNotifier.name: WebhookNotifier(),
        EmailNotifier.name: EmailNotifier(settings),
        TwilioSmsNotifier.name: TwilioSmsNotifier(settings),
        PatientSmsNotifier.name: PatientSmsNotifier(settings),
    }
