"""`python -m bot run`: start the Rasa server, the action server, the outbox worker
and the staff console.

All of them run in the foreground as child processes; Ctrl-C (or any child
exiting) stops them all.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from bot.config import PROJECT_ROOT, Settings, rasa_environment

MODEL_DIR = PROJECT_ROOT / "models"
RASA_LOGGING_CONFIG = PROJECT_ROOT / "deploy" / "logging.yml"


def latest_model() -> Path | None:
    models = sorted(MODEL_DIR.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def rasa_command(settings: Settings, model: Path) -> list[str]:
    rasa = str(Path(sys.executable).with_name("rasa"))
    command = [
        rasa,
        "run",
        "--model",
        str(model),
        "--port",
        str(settings.rasa_port),
        "--endpoints",
        str(PROJECT_ROOT / "endpoints.yml"),
        "--credentials",
        str(PROJECT_ROOT / "credentials.yml"),
    ]
    if settings.rasa_api_token:
        # The HTTP API exposes conversations: only ever on, with a token.
        command += ["--enable-api", "--auth-token", settings.rasa_api_token]
    if settings.is_production:
        # JSON logs with phone numbers, emails and message text masked (bot/ops/logging_setup.py).
        command += ["--logging-config-file", str(RASA_LOGGING_CONFIG)]
    return command


def action_command(settings: Settings) -> list[str]:
    rasa = str(Path(sys.executable).with_name("rasa"))
    return [rasa, "run", "actions", "--port", str(settings.action_port), "--actions", "actions"]


def outbox_command() -> list[str]:
    return [sys.executable, "-m", "bot", "outbox", "work"]


def console_command() -> list[str]:
    return [sys.executable, "-m", "bot", "console", "serve"]


def run_all(settings: Settings) -> int:
    model = latest_model()
    if model is None:
        print("No trained model in models/; run `make train` first.", file=sys.stderr)
        return 2
    env = rasa_environment(settings)
    commands = [
        action_command(settings),
        outbox_command(),
        console_command(),
        rasa_command(settings, model),
    ]
    children = [subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env) for cmd in commands]

    def stop(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
    return 0
