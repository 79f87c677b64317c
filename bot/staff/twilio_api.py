"""Outbound SMS through the `twilio` library (pointed at a local fake in tests)."""

from __future__ import annotations

from bot.config import Settings


def twilio_client(settings: Settings):  # type: ignore[no-untyped-def]
    """A Twilio REST client; TWILIO_API_BASE_URL redirects it (tests use a local fake)."""
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    http_client = TwilioHttpClient(timeout=10)
    base = settings.twilio_api_base_url.rstrip("/")
    if base:
        original_request = http_client.request

        def request(method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
            url = url.replace("https://api.twilio.com", base)
            return original_request(method, url, *args, **kwargs)

        http_client.request = request  # type: ignore[method-assign]
    return Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client)


def send_sms(settings: Settings, *, to: str, body: str) -> str:
    """Send one SMS and return Twilio's message SID; raises on any failure."""
    message = twilio_client(settings).messages.create(
        to=to, from_=settings.twilio_from_number, body=body
    )
    return str(message.sid)
