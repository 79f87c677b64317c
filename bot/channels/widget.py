"""Website chat widget channel: serves the widget and takes its messages.

Registered in `credentials.yml` as `bot.channels.widget.WidgetInput`. Routes,
under `/webhooks/widget/`:

* `GET widget.js`, `GET widget.css`: the embeddable widget (`bot/channels/widget_assets/`);
* `GET demo`: a page showing the one-tag embed;
* `POST webhook`: same JSON contract as Rasa's REST channel
  (`{"sender", "message"}` in, list of bot messages out);
* `GET updates?sender=&after=`: messages clinic staff wrote during a takeover
  since the cursor (bot/channels/held.py), polled by the widget;
* `OPTIONS webhook`: CORS preflight.

Why a channel of our own instead of `rest:`: the browser is untrusted, so this
one restricts CORS to the configured origins (`WEB_ALLOWED_ORIGINS`), rejects
bad input with a 4xx JSON error, never lets a traceback reach the page, and
fixes the input channel name to "widget" (a client cannot pretend to be the
SMS channel or attach metadata to the tracker). A long message is accepted
(up to MAX_REQUEST_BYTES), checked whole for crisis language, cut and
answered (`bot.channels.guard`); the turn runs through
`bot.channels.turns.run_turn`, so a message never gets an empty list.
"""

from __future__ import annotations

import html
import json
import logging
import re
from asyncio import CancelledError
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.guard import MAX_REQUEST_BYTES, Admission, MessageGuard, Verdict
from bot.channels.held import poll_query, updates
from bot.channels.turns import install_safeguards, run_turn
from bot.config import get_settings

logger = logging.getLogger(__name__)

WIDGET_DIR = Path(__file__).resolve().parent / "widget_assets"
ASSETS = {
    "widget.js": "application/javascript; charset=utf-8",
    "widget.css": "text/css; charset=utf-8",
}
DEMO_FILE = "demo.html"
DEMO_SERVER_MARK = "__WIDGET_SERVER__"

# The widget sends a random UUID; accept any similar opaque id, nothing else.
SENDER_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
HOST_PATTERN = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")
MAX_BODY_BYTES = MAX_REQUEST_BYTES
PREFLIGHT_MAX_AGE = "600"

try:  # Rasa installs Sanic-CORS on every app; tell it we set our own headers.
    from sanic_cors.core import SANIC_CORS_EVALUATED
except ImportError:  # pragma: no cover - sanic_cors is a Rasa dependency
    SANIC_CORS_EVALUATED = "_cors_evaluated"


def error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> HTTPResponse:
    """The one error shape the widget gets: a code and a short, safe sentence."""
    return response.json({"error": code, "message": message}, status=status, headers=headers)


def normalise_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


class WidgetInput(RestInput):
    """REST-compatible input channel for the website widget."""

    @classmethod
    def name(cls) -> str:
        return "widget"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WidgetInput:
        """Options come from `bot.config` (settings live in one place), not credentials."""
        settings = get_settings()
        return cls(allowed_origins=settings.web_allowed_origins, guard=MessageGuard(settings))

    def __init__(self, allowed_origins: Iterable[str], guard: MessageGuard) -> None:
        self.allowed_origins = frozenset(normalise_origin(o) for o in allowed_origins if o)
        self.guard = guard
        # Read once at start-up: a missing file is an installation error, and
        # nothing from the request is ever used to build a file path.
        self.assets = {name: (WIDGET_DIR / name).read_bytes() for name in ASSETS}
        self.demo_template = (WIDGET_DIR / DEMO_FILE).read_text(encoding="utf-8")

    # ---- CORS ---------------------------------------------------------------

    def origin_allowed(self, request: Request) -> bool:
        """No Origin (not a browser), the server's own origin, or a configured one."""
        origin = request.headers.get("origin")
        if origin is None:
            return True
        origin = normalise_origin(origin)
        return origin in self.allowed_origins or origin == self_origin(request)

    def cors_headers(self, request: Request) -> dict[str, str]:
        origin = request.headers.get("origin")
        headers = {"Vary": "Origin"}
        if origin is not None and self.origin_allowed(request):
            headers["Access-Control-Allow-Origin"] = origin
        return headers

    def preflight(self, request: Request) -> HTTPResponse:
        """Answer a CORS preflight: allowed origins get the headers, others a 403."""
        if not self.origin_allowed(request):
            return error(403, "origin_not_allowed", "This website may not use the chat.")
        headers = self.cors_headers(request)
        headers.update(
            {
                "Access-Control-Allow-Methods": "POST, OPTIONS",
                "Access-Control-Allow-Headers": "Content-Type",
                "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
            }
        )
        return response.empty(status=204, headers=headers)

    # ---- input validation ---------------------------------------------------

    async def parse_body(self, request: Request) -> tuple[str, Admission] | HTTPResponse:
        """(sender, admitted message) from the request, or the response to send back."""
        body = request.body or b""
        if len(body) > MAX_BODY_BYTES:
            return error(413, "request_too_large", "The request is too large.")
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return error(400, "invalid_json", "The request body must be JSON.")
        if not isinstance(data, dict):
            return error(400, "invalid_request", "The request body must be a JSON object.")
        sender, message = data.get("sender"), data.get("message")
        if not isinstance(sender, str) or not SENDER_PATTERN.match(sender):
            return error(400, "invalid_sender", "A valid conversation id is required.")
        if not isinstance(message, str) or not message.strip():
            return error(400, "missing_message", "A message is required.")
        admission = await self.guard.admit(sender, message)
        if admission.verdict is Verdict.RATE_LIMITED:
            return error(429, "rate_limited", self.guard.reply_for(admission.verdict))
        if admission.verdict is not Verdict.OK:
            reply = self.guard.reply_for(admission.verdict)
            return response.json([{"recipient_id": sender, "text": reply}])
        return sender, admission

    async def handle_message(
        self,
        request: Request,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        sender: str,
        admission: Admission,
    ) -> HTTPResponse:
        """Run the turn (never an empty reply); a timeout gives the browser a safe error."""
        collector = CollectingOutputChannel()
        try:
            messages = await run_turn(
                request.app,
                on_new_message,
                settings=self.guard.settings,
                sender=sender,
                text=admission.text,
                channel=self.name(),
                collector=collector,
                crisis=admission.crisis,
                cut=admission.cut,
            )
        except CancelledError:
            logger.error("widget: message handling timed out for %s", sender)
            if not collector.messages:
                return error(504, "timeout", "The assistant took too long to answer.")
            messages = collector.messages
        return response.json(messages)

    # ---- routes -------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("widget_channel", __name__)
        route_tag = f".{bp.name}."

        def is_ours(request: Request) -> bool:
            route = getattr(request, "route", None)
            return route is not None and route_tag in f".{route.name}."

        async def cors_first(request: Request) -> HTTPResponse | None:
            """Runs before Rasa's Sanic-CORS middleware, which would answer every
            preflight itself with the server-wide `--cors` setting."""
            if not is_ours(request):
                return None
            setattr(request.ctx, SANIC_CORS_EVALUATED, "1")
            if request.method == "OPTIONS":
                return self.preflight(request)
            return None

        @bp.listener("before_server_start")
        async def install_cors_middleware(app: Sanic, _loop: object) -> None:
            app.request_middleware.appendleft(cors_first)

        @bp.listener("after_server_start")
        async def safeguards(app: Sanic, _loop: object) -> None:
            install_safeguards(getattr(app.ctx, "agent", None))

        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        def asset_handler(name: str) -> Callable[[Request], Awaitable[HTTPResponse]]:
            async def serve(request: Request) -> HTTPResponse:
                return response.raw(
                    self.assets[name],
                    content_type=ASSETS[name],
                    headers={
                        "Cache-Control": "public, max-age=300",
                        "X-Content-Type-Options": "nosniff",
                    },
                )

            serve.__name__ = f"asset_{name.replace('.', '_')}"
            return serve

        for name in ASSETS:
            bp.add_route(asset_handler(name), f"/{name}", methods=["GET", "HEAD"])

        @bp.route("/demo", methods=["GET"])
        async def demo(request: Request) -> HTTPResponse:
            host = request.host
            if not HOST_PATTERN.match(host):
                return error(400, "invalid_host", "Invalid Host header.")
            server = html.escape(f"{request.scheme}://{host}", quote=True)
            return response.html(
                self.demo_template.replace(DEMO_SERVER_MARK, server),
                headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
            )

        @bp.route("/updates", methods=["GET"])
        async def staff_updates(request: Request) -> HTTPResponse:
            """What clinic staff wrote since the widget's cursor (polled; takeover)."""
            if not self.origin_allowed(request):
                return error(403, "origin_not_allowed", "This website may not use the chat.")
            headers = {**self.cors_headers(request), "Cache-Control": "no-store"}
            query = poll_query(request, lambda sender: bool(SENDER_PATTERN.match(sender)))
            if isinstance(query, str):
                return error(400, "invalid_request", query, headers)
            if not self.guard.poll_allowed(query[0]):
                return error(429, "rate_limited", "Please poll less often.", headers)
            try:
                body = await updates(self.guard.settings, *query)
            except Exception:
                logger.exception("widget: could not read staff messages")
                return error(503, "unavailable", "Please try again in a moment.", headers)
            return response.json(body, headers=headers)

        @bp.route("/webhook", methods=["OPTIONS"])
        async def webhook_preflight(request: Request) -> HTTPResponse:
            return self.preflight(request)  # normally answered by cors_first already

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.origin_allowed(request):
                return error(403, "origin_not_allowed", "This website may not use the chat.")
            headers = self.cors_headers(request)
            try:
                parsed = await self.parse_body(request)
                if isinstance(parsed, HTTPResponse):
                    result = parsed
                else:
                    result = await self.handle_message(request, on_new_message, *parsed)
            except Exception:  # never a traceback in the browser
                logger.exception("widget: unexpected error")
                result = error(500, "internal_error", "Something went wrong. Please try again.")
            result.headers.update(headers)
            return result

        return bp


def self_origin(request: Request) -> str:
    """This server's own origin as the browser sees it (same-origin requests)."""
    return normalise_origin(f"{request.scheme}://{request.host}")
