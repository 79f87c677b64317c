"""`python -m bot run`: start the Rasa server, the action server, the outbox worker
and the staff console, and keep them running.

All of them run as child processes in the foreground. A child that exits
(crash, kill, out of memory) is logged with its name and exit code or signal
and started again after a backoff (1 s, doubling up to 60 s; back to 1 s once
it has run for a minute); the others keep running. Only a signal to the
runner itself (Ctrl-C, SIGTERM) stops everything.

In development a fresh ACTION_SERVER_TOKEN is made per start (unless one is
set), shared by the Rasa server and the action server and by nobody else.
"""

from __future__ import annotations

import logging
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import PROJECT_ROOT, Settings, rasa_environment

logger = logging.getLogger("bot.runner")

MODEL_DIR = PROJECT_ROOT / "models"
RASA_LOGGING_CONFIG = PROJECT_ROOT / "deploy" / "logging.yml"
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0
HEALTHY_AFTER_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
POLL_SECONDS = 0.2
SANIC_BACKLOG = "1024"  # pending connections the Rasa server's socket queues (Rasa: 100)


def latest_model() -> Path | None:
    models = sorted(MODEL_DIR.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def rasa_command(settings: Settings, model: Path, api_token: str | None = None) -> list[str]:
    rasa = str(Path(sys.executable).with_name("rasa"))
    command = [
        rasa,
        "run",
        "--model",
        str(model),
        "--interface",
        settings.rasa_host,
        "--port",
        str(settings.rasa_port),
        "--endpoints",
        str(PROJECT_ROOT / "endpoints.yml"),
        "--credentials",
        str(PROJECT_ROOT / "credentials.yml"),
    ]
    api_token = api_token if api_token is not None else settings.rasa_api_token
    if api_token:
        # The HTTP API exposes conversations: only ever on, with a token. One
        # argument with "=": a token that starts with "-" (token_urlsafe makes
        # one in 64) is not taken for an option.
        command += ["--enable-api", f"--auth-token={api_token}"]
    if settings.is_production:
        # JSON logs with phone numbers, emails and message text masked (bot/ops/logging_setup.py).
        command += ["--logging-config-file", str(RASA_LOGGING_CONFIG)]
    return command


def action_command() -> list[str]:
    return [sys.executable, "-m", "bot", "actions", "serve"]


def outbox_command() -> list[str]:
    return [sys.executable, "-m", "bot", "outbox", "work"]


def console_command() -> list[str]:
    return [sys.executable, "-m", "bot", "console", "serve"]


def exit_reason(returncode: int) -> str:
    """ "exit code 1" or "signal SIGTERM" (Popen reports a signal as a negative code)."""
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGTERM if the runner dies (even by SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - not Linux: the runner still stops its children
        pass


@dataclass
class Child:
    """One supervised process."""

    name: str
    command: list[str]
    env: dict[str, str]
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    backoff: float = FIRST_BACKOFF_SECONDS
    restarts: int = field(default=0)

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command,
            cwd=PROJECT_ROOT,
            env=self.env,
            # Own process group: Ctrl-C reaches the runner, which stops the children.
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        self.started_at = time.monotonic()
        self.restart_at = None
        logger.info("Started %s (pid %s)", self.name, self.process.pid)

    def check(self, now: float) -> None:
        """Notice an exit and schedule the restart; restart when it is due."""
        if self.process is not None and self.restart_at is None:
            code = self.process.poll()
            if code is None:
                return
            ran = now - self.started_at
            if ran >= HEALTHY_AFTER_SECONDS:
                self.backoff = FIRST_BACKOFF_SECONDS
            logger.error(
                "%s (pid %s) exited with %s after %.0f s; restarting in %.0f s",
                self.name,
                self.process.pid,
                exit_reason(code),
                ran,
                self.backoff,
            )
            self.restart_at = now + self.backoff
            self.backoff = min(self.backoff * 2, MAX_BACKOFF_SECONDS)
            return
        if self.restart_at is not None and now >= self.restart_at:
            self.restarts += 1
            logger.warning("Restarting %s (restart %d)", self.name, self.restarts)
            self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def wait(self, deadline: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop in time; killing it", self.name)
            self.process.kill()
            self.process.wait()


def child_environment(settings: Settings) -> dict[str, str]:
    """The environment of every child: endpoints.yml's variables, the shared action token."""
    env = rasa_environment(settings)
    if not env.get("ACTION_SERVER_TOKEN"):
        # Development (production refuses to start without one): one per start.
        env["ACTION_SERVER_TOKEN"] = secrets.token_urlsafe(32)
    if not env.get("RASA_API_TOKEN") and not settings.is_production:
        # The console's takeover talks to Rasa's HTTP API (bot/staff/takeover.py).
        env["RASA_API_TOKEN"] = secrets.token_urlsafe(32)
    env.setdefault("SANIC_BACKLOG", SANIC_BACKLOG)
    return env


def run_all(settings: Settings) -> int:
    model = latest_model()
    if model is None:
        print("No trained model in models/; run `make train` first.", file=sys.stderr)
        return 2
    env = child_environment(settings)
    children = [
        Child("action server", action_command(), env),
        Child("outbox worker", outbox_command(), env),
        Child("staff console", console_command(), env),
        Child("Rasa server", rasa_command(settings, model, env.get("RASA_API_TOKEN")), env),
    ]
    stopping: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        if not stopping:
            logger.info("Received %s: stopping everything", signal.Signals(signum).name)
        stopping.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for child in children:
            child.start()
        while not stopping:
            now = time.monotonic()
            for child in children:
                if not stopping:
                    child.check(now)
            time.sleep(POLL_SECONDS)
    finally:
        for child in children:
            child.stop()
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for child in children:
            child.wait(deadline)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    logger.info("All processes stopped")
    return 0
