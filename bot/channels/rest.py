"""Rasa's REST channel (`/webhooks/rest/webhook`, SPEC section 4) with input checks.

Same URL and contract as Rasa's built-in `rest` channel; before a message
reaches the bot it checks the body (UTF-8 JSON object with string `sender`
and `message`: else 400 with a JSON error), the length and the per-sender
rate (`bot.channels.guard`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.guard import MessageGuard, Verdict
from bot.config import get_settings

MAX_SENDER_CHARS = 128


def bad_request(error: str) -> HTTPResponse:
    return response.json({"error": error}, status=400)


class GuardedRestInput(RestInput):
    """The REST channel, refusing malformed, over-long and flooding input."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)
        guard = MessageGuard(get_settings())

        @blueprint.middleware("request")
        async def check(request: Request) -> HTTPResponse | None:
            if request.method != "POST" or not request.path.endswith("/webhook"):
                return None
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
            verdict = guard.check(sender, text)
            if verdict is Verdict.RATE_LIMITED:
                return response.json(
                    {"error": guard.reply_for(verdict)},
                    status=429,
                    headers={"Retry-After": str(get_settings().rate_limit_window_seconds)},
                )
            if verdict is not Verdict.OK:
                return response.json([{"recipient_id": sender, "text": guard.reply_for(verdict)}])
            return None

        return blueprint
