"""SMS through Twilio: a signed, compliant, phone-readable Rasa input channel.

Registered in `credentials.yml` as `bot.channels.twilio_sms.TwilioSmsInput`;
Twilio posts to `/webhooks/twilio_sms/webhook`. Rasa's built-in `twilio`
channel trusts any caller and replies inline; this one:

* verifies `X-Twilio-Signature` against SMS_PUBLIC_URL (the URL Twilio is
  configured to call, so it also works behind a proxy or tunnel) and answers
  403 to anything else, before reading or storing anything;
* processes each MessageSid once: a replayed (or retried) request gets empty
  TwiML and no second reply (`sms_inbound`);
* handles STOP/START/HELP before the bot sees the message; HELP is answered
  even while the number is opted out, and a crisis message from an opted-out
  number is recorded as an escalation with staff alerted (nothing is sent to
  the person, as STOP requires);
* uses the keyed hash of the number as the conversation id (bot.channels.sms_text);
* answers Twilio at once with empty TwiML and sends the replies as outbox rows
  (retried by the worker), tried immediately in the background; the turn runs
  through `bot.channels.turns.run_turn`, so a message never goes unanswered.

Settings come from `bot.config` (TWILIO_*, SMS_*), not from credentials.yml,
so an unconfigured channel still lets Rasa start (and rejects every request).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request, RequestParameters
from sanic.response import HTTPResponse

from bot.answers.crisis import CrisisTurn, record_crisis_turn
from bot.channels.guard import Admission, MessageGuard, Verdict, read_for_crisis
from bot.channels.held import is_receipt
from bot.channels.sms_text import (
    HELP_KEYWORDS,
    START_IF_OPTED_OUT,
    START_KEYWORDS,
    STOP_KEYWORDS,
    conversation_id,
    keyword,
    normalize_number,
    pick_choice,
    render_turn,
)
from bot.channels.turns import install_safeguards, run_turn
from bot.config import PLACEHOLDER_SECRETS, SMS_CHANNEL, Settings, get_settings
from bot.staff.outbox import SMS_COMPLIANCE, SMS_REPLY, deliver_now, enqueue_sms
from bot.store.db import session_scope
from bot.store.sms_contacts import (
    first_delivery,
    opt_in,
    opt_out,
    remember_contact,
    save_choices,
)

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
MIN_SECRET_LENGTH = 16
OPTED_OUT_NOTE = (
    "NOTHING was sent to this person: the number opted out of SMS (STOP). Call them; do not text."
)


def stop_text(settings: Settings) -> str:
    c = settings.clinic
    return (
        f"You're unsubscribed from {c.name} texts and will get no more messages. "
        f"Reply START to resubscribe. In a crisis, call or text {settings.crisis.line_number}."
    )


def start_text(settings: Settings) -> str:
    return (
        f"You're subscribed again to {settings.clinic.name} texts. Msg & data rates may apply. "
        "Reply HELP for help, STOP to opt out."
    )


def help_text(settings: Settings) -> str:
    c = settings.clinic
    return (
        f"{c.name}: answers about ketamine treatment. Call us at {c.phone}. "
        f"In a crisis, call or text {settings.crisis.line_number}. "
        "Msg & data rates may apply. Reply STOP to opt out."
    )


def picture_text(settings: Settings) -> str:
    return (
        "Thanks for sending that. I can only read text, not pictures, so please type your "
        f"question in words. For anything urgent, call {settings.clinic.phone}."
    )


def error_text(settings: Settings) -> str:
    return (
        "Sorry, something went wrong on our side. Please call "
        f"{settings.clinic.phone}. In a crisis, call or text {settings.crisis.line_number}."
    )


def missing_settings(settings: Settings) -> list[str]:
    """The SMS settings that are not set (the channel rejects requests until they are)."""
    required = {
        "TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
        "TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
        "TWILIO_FROM_NUMBER": settings.twilio_from_number,
        "SMS_PUBLIC_URL": settings.sms_public_url,
        "SMS_ID_SECRET": settings.sms_id_secret,
    }
    return [name for name, value in required.items() if not value]


def form_params(request: Request) -> RequestParameters:
    """The posted form, keeping empty values: Twilio signs `Body=` of a picture-only
    message too, and Sanic's `request.form` would drop it (breaking the signature)."""
    try:
        body = request.body.decode("utf-8")
    except UnicodeDecodeError:
        body = ""
    return RequestParameters(parse_qs(body, keep_blank_values=True))


class SmsCollector(CollectingOutputChannel):
    """Collects one turn's messages; named "twilio_sms" so that domain responses
    can have `channel: twilio_sms` variations."""

    @classmethod
    def name(cls) -> str:
        return SMS_CHANNEL

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        # Keep a message whole: bot.channels.sms_text splits it for SMS at sentence boundaries.
        await self._persist_message(self._message(recipient_id, text=text.strip()))


class TwilioSmsInput(InputChannel):
    """Twilio Programmable Messaging webhook with signature checks and compliance keywords."""

    @classmethod
    def name(cls) -> str:
        return SMS_CHANNEL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TwilioSmsInput:
        """Options are settings (`bot.config`), so they live in one place."""
        settings = get_settings()
        secret = settings.sms_id_secret
        if (
            settings.is_production
            and settings.twilio_auth_token
            and (secret.lower() in PLACEHOLDER_SECRETS or len(secret) < MIN_SECRET_LENGTH)
        ):
            raise ValueError(
                f"SMS_ID_SECRET must be a random secret of at least {MIN_SECRET_LENGTH} "
                "characters in production"
            )
        missing = missing_settings(settings)
        if missing:
            logger.warning("SMS channel not configured (missing %s)", ", ".join(missing))
        return cls(settings)

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.guard = MessageGuard(settings)
        self._tasks: set[asyncio.Task] = set()

    def _signed(self, request: Request) -> bool:
        """Whether Twilio signed exactly this request for the configured public URL."""
        from twilio.request_validator import RequestValidator

        s = self.settings
        signature = request.headers.get("X-Twilio-Signature", "")
        if not (signature and s.twilio_auth_token and s.sms_public_url):
            return False
        try:
            return bool(
                RequestValidator(s.twilio_auth_token).validate(
                    s.sms_public_url, form_params(request), signature
                )
            )
        except Exception:  # noqa: BLE001 - a malformed request is simply not signed
            return False

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("twilio_sms_webhook", __name__)

        @webhook.listener("after_server_start")
        async def safeguards(app: Any, _loop: object) -> None:
            install_safeguards(getattr(app.ctx, "agent", None))

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self._signed(request):
                logger.warning("Rejected an SMS webhook request without a valid signature")
                return response.text("Forbidden", status=403)
            if missing_settings(self.settings):
                return response.text("SMS channel not configured", status=503)
            sid = form_params(request).get("MessageSid") or ""
            if sid and not await asyncio.to_thread(first_delivery, sid):
                logger.info("SMS webhook for an already received MessageSid; not processed again")
                return response.text(EMPTY_TWIML, content_type="text/xml")
            await self._receive(request, on_new_message)
            return response.text(EMPTY_TWIML, content_type="text/xml")

        return webhook

    async def _receive(
        self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        """Compliance first, then hand the message to the bot in the background."""
        s = self.settings
        form = form_params(request)
        number = normalize_number(form.get("From", ""), s.phone_default_region)
        if number is None:
            logger.warning("Signed SMS webhook request without a usable sender; ignored")
            return
        body = (form.get("Body") or "").strip()
        try:
            pictures = int(form.get("NumMedia") or 0)
        except ValueError:
            pictures = 0
        sender = conversation_id(s.sms_id_secret, number)
        short = sender[:10]
        state = await asyncio.to_thread(remember_contact, sender, number)
        word = keyword(body)

        if word in STOP_KEYWORDS:
            if await asyncio.to_thread(opt_out, number, word):
                logger.info("SMS conversation %s opted out", short)
                await self._send(number, [stop_text(s)], state.contact_id, SMS_COMPLIANCE)
            return
        if word in START_KEYWORDS or (word in START_IF_OPTED_OUT and state.opted_out):
            await asyncio.to_thread(opt_in, number)
            logger.info("SMS conversation %s opted in", short)
            await self._send(number, [start_text(s)], state.contact_id, SMS_COMPLIANCE)
            return
        if word in HELP_KEYWORDS:  # answered whatever the opt-out (carrier rules)
            kind = SMS_COMPLIANCE if state.opted_out else SMS_REPLY
            await self._send(number, [help_text(s)], state.contact_id, kind)
            return
        if state.opted_out:
            await self._opted_out_message(sender, number, body, form.get("MessageSid") or "")
            return
        if not body:
            if pictures:
                await self._send(number, [picture_text(s)], state.contact_id, SMS_REPLY)
            return
        text = pick_choice(body, state.choices) or body
        admission = await self.guard.admit(sender, text)
        if admission.verdict is Verdict.RATE_LIMITED:
            logger.warning("SMS conversation %s is rate-limited; message dropped", short)
            return
        if admission.verdict is not Verdict.OK:
            reply = self.guard.reply_for(admission.verdict)
            await self._send(number, [reply], state.contact_id, SMS_REPLY)
            return
        logger.info("SMS message in conversation %s", short)
        task = asyncio.create_task(
            self._converse(
                request.app, on_new_message, sender, number, admission, state.contact_id, pictures
            )
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _opted_out_message(self, sender: str, number: str, body: str, sid: str) -> None:
        """A number that sent STOP gets nothing, but a crisis still reaches staff."""
        text = await asyncio.to_thread(read_for_crisis, body, self.settings.max_message_chars)
        if text is None:
            logger.info("Ignored a message from opted-out SMS conversation %s", sender[:10])
            return
        turn = CrisisTurn(
            sender,
            SMS_CHANNEL,
            sid or None,
            text,
            "pattern (opted-out SMS)",
            note=OPTED_OUT_NOTE,
            resources_given=False,
        )
        escalation_id = await record_crisis_turn(self.settings, turn)
        logger.warning(
            "Crisis message from opted-out SMS conversation %s: escalation #%s, nothing sent",
            sender[:10],
            escalation_id if escalation_id is not None else "(retrying)",
        )

    async def _converse(
        self,
        app: Any,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        sender: str,
        number: str,
        admission: Admission,
        contact_id: int,
        pictures: int,
    ) -> None:
        """Run the bot turn and queue its replies as SMS (never raises)."""
        s = self.settings
        collector = SmsCollector()
        with_picture = pictures > 0
        try:
            await run_turn(
                app,
                on_new_message,
                settings=s,
                sender=sender,
                text=admission.text,
                channel=SMS_CHANNEL,
                collector=collector,
                crisis=admission.crisis,
                cut=admission.cut,
            )
        except Exception:
            logger.exception("SMS turn failed in conversation %s", sender[:10])
        if is_receipt(collector.messages):
            return  # staff hold the conversation: their reply is the answer
        try:
            turn = render_turn(
                collector.messages,
                max_chars=s.sms_max_chars,
                max_segments=s.sms_max_segments,
                more_url=s.clinic.url,
                crisis_line=s.crisis.line_number,
            )
            bodies = turn.bodies or [error_text(s)]
            if with_picture:
                bodies.append(picture_text(s))
            await asyncio.to_thread(save_choices, sender, turn.choices)
            await self._send(number, bodies, contact_id, SMS_REPLY)
        except Exception:
            logger.exception("Could not queue the SMS replies of conversation %s", sender[:10])

    async def _send(self, number: str, bodies: list[str], contact_id: int, kind: str) -> None:
        """Commit the SMS as outbox rows, then try them at once in a worker thread."""

        def queue() -> list[int]:
            with session_scope() as session:
                rows = [
                    enqueue_sms(session, to=number, body=body, ref_id=contact_id, kind=kind)
                    for body in bodies
                ]
                return [row.id for row in rows if row is not None]

        ids = await asyncio.to_thread(queue)
        if ids:
            task = asyncio.create_task(self._deliver(ids))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, ids: list[int]) -> None:
        """Immediate attempt; whatever is not sent stays queued for the worker."""
        try:
            await asyncio.to_thread(deliver_now, self.settings, ids)
        except Exception:
            logger.exception("Immediate SMS delivery failed; the outbox worker will retry")
