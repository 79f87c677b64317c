"""Local fakes for third parties we cannot reach here, spoken to over real HTTP."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeWebhook:
    """A Slack-style incoming webhook that records every JSON body it receives.

    `fail_next(n)` makes the next n requests answer 503, to exercise retries.
    """

    def __init__(self) -> None:
        self.received: list[dict] = []
        self._failures_left = 0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with fake._lock:
                    if fake._failures_left > 0:
                        fake._failures_left -= 1
                        self.send_response(503)
                        self.end_headers()
                        return
                    fake.received.append(json.loads(body or b"{}"))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def fail_next(self, count: int) -> None:
        with self._lock:
            self._failures_left = count

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()


class FakeSmtp:
    """A local SMTP server (aiosmtpd) that keeps every message it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[dict] = []
        fake = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
                fake.messages.append(
                    {
                        "from": envelope.mail_from,
                        "to": list(envelope.rcpt_tos),
                        "data": envelope.content.decode("utf-8", "replace"),
                    }
                )
                return "250 Message accepted for delivery"

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
