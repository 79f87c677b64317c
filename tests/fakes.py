"""Local fakes for third parties we cannot reach here, spoken to over real HTTP."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeWebhook:
    """A Slack-style incoming webhook that records every JSON body it receives.

    `fail_next(n, matching)` makes the next n requests whose body contains
    `matching` answer 503, to exercise retries (other tests' alerts, still
    being delivered by the shared outbox worker, are not affected).

    `requests` logs every request on arrival (headers, JSON body, `time.time()`),
    before any answer; `delay` seconds pass before answering (a slow receiver),
    and only requests answered 200 are added to `received`.
    """

    def __init__(self, delay: float = 0.0) -> None:
        self.received: list[dict] = []
        self.requests: list[dict] = []
        self.delay = delay
        self._failures_left = 0
        self._failing_match = ""
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with fake._lock:
                    fake.requests.append(
                        {
                            "at": time.time(),
                            "headers": dict(self.headers.items()),
                            "json": json.loads(body or b"{}"),
                        }
                    )
                    delay = fake.delay
                if delay:
                    time.sleep(delay)
                with fake._lock:
                    if fake._failures_left > 0 and fake._failing_match.encode() in body:
                        fake._failures_left -= 1
                        failed = True
                    else:
                        failed = False
                        fake.received.append(json.loads(body or b"{}"))
                try:
                    self.send_response(503 if failed else 200)
                    self.end_headers()
                    if not failed:
                        self.wfile.write(b"ok")
                except OSError:
                    pass  # the client gave up waiting (timeout) or was killed

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def fail_next(self, count: int, matching: str = "") -> None:
        with self._lock:
            self._failures_left = count
            self._failing_match = matching

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


class FakeTwilio:
    """Twilio's Messages REST API (`POST /2010-04-01/Accounts/{sid}/Messages.json`).

    Records every SMS the product would send (`sent`: dicts with To, From,
    Body) and answers with a JSON message resource; `fail_next(n)` makes the
    next n requests answer 500, to exercise retries. `requests` logs each
    message request on arrival: its form, headers and `time.time()`.
    """

    def __init__(self) -> None:
        from urllib.parse import parse_qs

        self.sent: list[dict] = []
        self.requests: list[dict] = []
        self._failures_left = 0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                parts = self.path.split("?")[0].strip("/").split("/")
                # 2010-04-01 / Accounts / {sid} / Messages.json
                if len(parts) != 4 or parts[1] != "Accounts" or parts[3] != "Messages.json":
                    self._reply(404, {"code": 20404, "message": "not found", "status": 404})
                    return
                form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                with fake._lock:
                    fake.requests.append(
                        {"at": time.time(), "headers": dict(self.headers.items()), "form": form}
                    )
                    if fake._failures_left > 0:
                        fake._failures_left -= 1
                        self._reply(500, {"code": 20500, "message": "fake outage", "status": 500})
                        return
                    sid = f"SM{len(fake.sent) + 1:032d}"
                    fake.sent.append({**form, "sid": sid, "account_sid": parts[2]})
                self._reply(
                    201,
                    {
                        "sid": sid,
                        "account_sid": parts[2],
                        "to": form.get("To"),
                        "from": form.get("From"),
                        "body": form.get("Body"),
                        "status": "queued",
                        "num_segments": "1",
                        "direction": "outbound-api",
                        "api_version": "2010-04-01",
                        "uri": f"/2010-04-01/Accounts/{parts[2]}/Messages/{sid}.json",
                    },
                )

            def _reply(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def to(self, number: str) -> list[str]:
        """Bodies sent to one number, in order."""
        with self._lock:
            return [m.get("Body", "") for m in self.sent if m.get("To") == number]

    def fail_next(self, count: int) -> None:
        with self._lock:
            self._failures_left = count

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
