"""`python -m bot actions serve`: the Rasa SDK action server, local and authenticated.

Rasa SDK's own server (`rasa run actions`) listens on 0.0.0.0 and runs any
action for anyone who can reach it (a forged POST to /webhook created leads,
escalations and staff alerts). This wrapper serves the same app (rasa_sdk's
`create_app` with the `actions` package) with:

* the bind address ACTION_HOST (default 127.0.0.1) and port ACTION_PORT;
* a shared secret: every request except `GET /health` must carry
  ACTION_SERVER_TOKEN in the ACTION_TOKEN_HEADER header (Rasa sends it:
  endpoints.yml `headers:`, and bot/channels/in_process.py), else 403 before
  any action runs. It refuses to start without one; `python -m bot run`
  makes one per start in development, production requires it in `.env`;
* no CORS (no browser has any business here) and one worker process.
"""

from __future__ import annotations

import hmac
import logging
import sys

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.config import ACTION_TOKEN_HEADER, Settings

logger = logging.getLogger(__name__)

ACTIONS_PACKAGE = "actions"
OPEN_PATHS = frozenset({"/health"})


def token_ok(supplied: str | None, token: str) -> bool:
    return bool(token) and hmac.compare_digest((supplied or "").encode(), token.encode())


def create_app(token: str, package: str = ACTIONS_PACKAGE) -> Sanic:
    """Rasa SDK's action server app, refusing every request without the shared secret."""
    from rasa_sdk.endpoint import create_app as sdk_create_app

    app = sdk_create_app(package, cors_origins=None)

    @app.middleware("request")
    async def require_token(request: Request) -> HTTPResponse | None:
        if request.method == "GET" and request.path in OPEN_PATHS:
            return None
        if token_ok(request.headers.get(ACTION_TOKEN_HEADER), token):
            return None
        logger.warning(
            "Refused %s %s from %s: no valid %s",
            request.method,
            request.path,
            request.ip,
            ACTION_TOKEN_HEADER,
        )
        return response.json({"error": "forbidden"}, status=403)

    return app


def serve(settings: Settings) -> int:
    """Run the action server in the foreground (the `python -m bot actions serve` process)."""
    token = settings.action_server_token
    if not token:
        print(
            "ACTION_SERVER_TOKEN is not set: the action server refuses to run without it "
            "(`python -m bot run` makes one per start in development).",
            file=sys.stderr,
        )
        return 2
    app = create_app(token)
    logger.info(
        "Action server on http://%s:%s (requests need %s)",
        settings.action_host,
        settings.action_port,
        ACTION_TOKEN_HEADER,
    )
    app.run(
        host=settings.action_host,
        port=settings.action_port,
        workers=1,
        access_log=False,
        motd=False,
    )
    return 0
