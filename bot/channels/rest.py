"""Rasa's REST channel (`/webhooks/rest/webhook`, SPEC section 4) with input checks.

Same URL and contract as Rasa's built-in `rest` channel (`{"sender",
"message"}` in, Rasa's message list out); before a message reaches the bot it
checks the body (UTF-8 JSON object with string `sender` and `message`, at
most MAX_REQUEST_BYTES: else 400/413 with a JSON error), crisis language,
the length and the per-sender rate (`bot.channels.guard`). The input channel
is always `rest`: a client-supplied `input_channel` or `metadata` is ignored
(a client must not pass as the SMS channel or write into the tracker). The
turn runs through `bot.channels.turns.run_turn`, so a user message never gets
an empty list. Streaming (`?stream=true`) is not offered.

`GET /webhooks/rest/updates?sender=&after=` returns what clinic staff wrote
during a takeover since the client's cursor (`{"messages", "cursor",
"with_staff"}`, bot/channels/held.py): a REST client polls it while its
turns get `custom.type: with_staff` receipts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.guard import MAX_REQUEST_BYTES, MessageGuard, Verdict
from bot.channels.held import poll_query, updates
from bot.channels.turns import install_safeguards, run_turn
from bot.config import get_settings

logger = logging.getLogger(__name__)

MAX_SENDER_CHARS = 128


def bad_request(error: str, status: int = 400) -> HTTPResponse:
    return response.json({"error": error}, status=status)


class GuardedRestInput(RestInput):
    """The REST channel, refusing malformed and flooding input, never answering with nothing."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = Blueprint("custom_webhook_GuardedRestInput", __name__)
        settings = get_settings()
        guard = MessageGuard(settings)

        @blueprint.listener("after_server_start")
        async def safeguards(app: Sanic, _loop: object) -> None:
            install_safeguards(getattr(app.ctx, "agent", None))

        @blueprint.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @blueprint.route("/updates", methods=["GET"])
        async def staff_updates(request: Request) -> HTTPResponse:
            """What clinic staff wrote since `after` (a client polls it during a takeover)."""
            query = poll_query(request, lambda sender: 0 < len(sender) <= MAX_SENDER_CHARS)
            if isinstance(query, str):
                return bad_request(query)
            if not guard.poll_allowed(query[0]):
                return bad_request("polling too often; try again shortly", 429)
            try:
                return response.json(await updates(settings, *query))
            except Exception:
                logger.exception("rest: could not read staff messages")
                return bad_request("staff messages are unavailable; try again", 503)

        @blueprint.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if len(request.body or b"") > MAX_REQUEST_BYTES:
                return bad_request(f"the body must be at most {MAX_REQUEST_BYTES} bytes", 413)
            try:
                payload = json.loads(request.body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                return bad_request("the body must be UTF-8 encoded JSON")
            if not isinstance(payload, dict):
                return bad_request('the body must be a JSON object {"sender", "message"}')
            sender, text = payload.get("sender"), payload.get("message")
            if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
                return bad_request(f"sender must be a string of 1 to {MAX_SENDER_CHARS} characters")
            if not isinstance(text, str):
                return bad_request("message must be a string")
            admission = await guard.admit(sender, text)
            if admission.verdict is Verdict.RATE_LIMITED:
                return response.json(
                    {"error": guard.reply_for(admission.verdict)},
                    status=429,
                    headers={"Retry-After": str(settings.rate_limit_window_seconds)},
                )
            if admission.verdict is not Verdict.OK:
                reply = guard.reply_for(admission.verdict)
                return response.json([{"recipient_id": sender, "text": reply}])
            messages = await run_turn(
                request.app,
                on_new_message,
                settings=settings,
                sender=sender,
                text=admission.text,
                channel=self.name(),
                collector=CollectingOutputChannel(),
                crisis=admission.crisis,
                cut=admission.cut,
            )
            return response.json(messages)

        return blueprint
