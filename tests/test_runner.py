"""bot/ops/runner.py: a child that exits is logged with its reason and restarted with backoff."""

from __future__ import annotations

import logging
import signal
import sys
import time

import pytest

from bot.ops import runner
from bot.ops.runner import Child, child_environment, exit_reason


def test_exit_reasons_name_the_code_or_the_signal() -> None:
    assert exit_reason(3) == "exit code 3"
    assert exit_reason(-signal.SIGTERM) == "signal SIGTERM"
    assert exit_reason(-signal.SIGKILL) == "signal SIGKILL"


def test_a_crashed_child_is_restarted_with_growing_backoff(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(runner, "FIRST_BACKOFF_SECONDS", 0.05)
    child = Child("crasher", [sys.executable, "-c", "raise SystemExit(3)"], env={}, backoff=0.05)
    caplog.set_level(logging.INFO, logger="bot.runner")
    child.start()
    deadline = time.monotonic() + 20
    while child.restarts < 3 and time.monotonic() < deadline:
        child.check(time.monotonic())
        time.sleep(0.01)
    child.stop()
    assert child.restarts == 3
    assert "crasher (pid" in caplog.text and "exited with exit code 3" in caplog.text
    assert child.backoff >= 0.05 * 2**3  # doubled at every exit


def test_development_gets_a_fresh_action_token_per_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.config import load_settings

    monkeypatch.delenv("ACTION_SERVER_TOKEN", raising=False)
    settings = load_settings()
    first, second = child_environment(settings), child_environment(settings)
    assert len(first["ACTION_SERVER_TOKEN"]) >= 32
    assert first["ACTION_SERVER_TOKEN"] != second["ACTION_SERVER_TOKEN"]
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "configured-token-0123456789")
    assert (
        child_environment(load_settings())["ACTION_SERVER_TOKEN"] == "configured-token-0123456789"
    )


def test_rasa_binds_the_configured_interface() -> None:
    from pathlib import Path

    from bot.config import load_settings

    command = runner.rasa_command(load_settings(), Path("m.tar.gz"))
    assert command[command.index("--interface") + 1] == "127.0.0.1"


def test_make_run_gives_rasa_and_the_console_one_api_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Development without RASA_API_TOKEN: one is made per start, for Rasa's
    --auth-token and the console's takeover alike; production never gets one made."""
    from pathlib import Path

    from bot.config import load_settings

    monkeypatch.delenv("RASA_API_TOKEN", raising=False)
    monkeypatch.setenv("APP_ENV", "development")
    env = child_environment(load_settings())
    token = env["RASA_API_TOKEN"]
    assert len(token) >= 32
    command = runner.rasa_command(load_settings(), Path("m.tar.gz"), token)
    assert f"--auth-token={token}" in command
    assert "--enable-api" in command
    # A token that starts with "-" is still the option's value, not an option.
    from rasa.__main__ import create_argument_parser

    dashed = runner.rasa_command(load_settings(), Path("m.tar.gz"), "-starts-with-a-dash")
    arguments = create_argument_parser().parse_args(dashed[dashed.index("run") :])
    assert arguments.auth_token == "-starts-with-a-dash"
    monkeypatch.setenv("APP_ENV", "production")
    assert "RASA_API_TOKEN" not in child_environment(load_settings())
