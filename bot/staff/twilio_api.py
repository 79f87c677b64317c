"""Outbound SMS through the `twilio` library (pointed at a local fake in tests)."""

from __future__ import annotations

from bot.config import Settings

# Twilio's REST API has no idempotency of its own for Messages; the key travels
# as a header anyway (a proxy or a fake can deduplicate by it) and staff SMS
# also carry the alert id in the text (bot/staff/notifiers.py).
IDEMPOTENCY_HEADER = "Idempotency-Key"


def twilio_client(settings: Settings, *, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """A Twilio REST client; TWILIO_API_BASE_URL redirects it (tests use a local fake).

    Each HTTP request is limited to OUTBOX_ATTEMPT_TIMEOUT_SECONDS, and `headers`
    (e.g. the idempotency key of one delivery) are added to every request.
    """
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    http_client = TwilioHttpClient(timeout=settings.outbox_attempt_timeout_seconds)
    base = settings.twilio_api_base_url.rstrip("/")
    extra = dict(headers or {})
    if base or extra:
        original_request = http_client.request

        def request(method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
            if base:
                url = url.replace("https://api.twilio.com", base)
            if extra:
                kwargs["headers"] = {**(kwargs.get("headers") or {}), **extra}
            return original_request(method, url, *args, **kwargs)

        http_client.request = request  # type: ignore[method-assign]
    return Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client)


def send_sms(
    settings: Settings,
    *,
    to: str,
    body: str,
    idempotency_key: str | None = None,
    attempt: int = 1,
) -> str:
    """Send one SMS and return Twilio's message SID; raises on any failure."""
    headers: dict[str, str] = {}
    if idempotency_key:
        headers[IDEMPOTENCY_HEADER] = idempotency_key
        headers["X-Delivery-Attempt"] = str(attempt)
        if attempt > 1:
            headers["X-Retry-Attempt"] = str(attempt - 1)
    message = twilio_client(settings, headers=headers).messages.create(
        to=to, from_=settings.twilio_from_number, body=body
    )
    return str(message.sid)
