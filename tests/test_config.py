"""Production refuses placeholder secrets (SPEC section 3), at every entry point."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import get_settings, load_settings, validate_for_production

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = "k" * 48
SECRET_VARS = (
    "RASA_API_TOKEN",
    "CONSOLE_SECRET_KEY",
    "CONSOLE_SEED_PASSWORD",
    "SMS_ID_SECRET",
    "SMS_PUBLIC_URL",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_FROM_NUMBER",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "DATABASE_URL",
    "REDIS_URL",
    "ACTION_SERVER_TOKEN",
)


@pytest.fixture
def prod(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """APP_ENV=production with every secret unset; tests set what they need."""
    for name in SECRET_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("CONSOLE_SECRET_KEY", GOOD_KEY)
    monkeypatch.setenv("ACTION_SERVER_TOKEN", GOOD_KEY)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def problems() -> list[str]:
    return validate_for_production(load_settings())


def test_minimal_production_settings_pass(prod: pytest.MonkeyPatch) -> None:
    assert problems() == []


def test_development_is_never_refused(prod: pytest.MonkeyPatch) -> None:
    prod.setenv("APP_ENV", "development")
    prod.setenv("CONSOLE_SECRET_KEY", "change-me")
    assert problems() == []


@pytest.mark.parametrize("value", ["", "change-me", "changeme", "secret", "short"])
def test_console_secret_key_must_be_real(prod: pytest.MonkeyPatch, value: str) -> None:
    prod.setenv("CONSOLE_SECRET_KEY", value)
    [problem] = problems()
    assert problem.startswith("CONSOLE_SECRET_KEY")


@pytest.mark.parametrize("value", ["", "change-me", "placeholder", "short"])
def test_action_server_token_is_required(prod: pytest.MonkeyPatch, value: str) -> None:
    prod.setenv("ACTION_SERVER_TOKEN", value)
    [problem] = problems()
    assert problem.startswith("ACTION_SERVER_TOKEN")


def test_rasa_api_token_may_be_off_but_never_a_placeholder(prod: pytest.MonkeyPatch) -> None:
    assert problems() == []  # unset: the HTTP API stays off
    for value in ("change-me", "placeholder", "<your-token>", "abc"):
        prod.setenv("RASA_API_TOKEN", value)
        assert [p.split()[0] for p in problems()] == ["RASA_API_TOKEN"], value
    prod.setenv("RASA_API_TOKEN", "t" * 32)
    assert problems() == []


def test_twilio_and_sms_secrets_when_sms_is_configured(prod: pytest.MonkeyPatch) -> None:
    prod.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    prod.setenv("TWILIO_AUTH_TOKEN", "change-me")
    found = problems()
    assert any(p.startswith("TWILIO_AUTH_TOKEN") for p in found)
    assert any(p.startswith("SMS_ID_SECRET") for p in found)
    prod.setenv("TWILIO_AUTH_TOKEN", "f" * 32)
    prod.setenv("SMS_ID_SECRET", "s" * 40)
    assert problems() == []


def test_sms_secret_placeholder_refused_even_without_twilio(prod: pytest.MonkeyPatch) -> None:
    prod.setenv("SMS_ID_SECRET", "xxx")
    assert [p.split()[0] for p in problems()] == ["SMS_ID_SECRET"]


def test_smtp_password_only_when_smtp_login_is_configured(prod: pytest.MonkeyPatch) -> None:
    prod.setenv("SMTP_PASSWORD", "")
    assert problems() == []
    prod.setenv("SMTP_USERNAME", "alerts@clinic.example.org")
    assert [p.split()[0] for p in problems()] == ["SMTP_PASSWORD"]
    prod.setenv("SMTP_PASSWORD", "placeholder")
    assert [p.split()[0] for p in problems()] == ["SMTP_PASSWORD"]
    prod.setenv("SMTP_PASSWORD", "a-real-app-password")
    assert problems() == []


@pytest.mark.parametrize("password", ["postgres", "password", "change-me", "PASSWORD"])
def test_default_database_passwords_are_refused(prod: pytest.MonkeyPatch, password: str) -> None:
    prod.setenv("DATABASE_URL", f"postgresql://clinic:{password}@db:5432/clinic")
    [problem] = problems()
    assert problem.startswith("DATABASE_URL") and f":{password}@" not in problem


def test_real_database_password_and_sqlite_pass(prod: pytest.MonkeyPatch) -> None:
    prod.setenv("DATABASE_URL", "postgresql://clinic:Zq8%40r-77-long@db:5432/clinic")
    assert problems() == []
    prod.setenv("DATABASE_URL", "sqlite:////data/clinic.db")
    assert problems() == []


def test_every_problem_is_listed_at_once(prod: pytest.MonkeyPatch) -> None:
    prod.setenv("CONSOLE_SECRET_KEY", "")
    prod.setenv("RASA_API_TOKEN", "change-me")
    prod.setenv("DATABASE_URL", "postgresql://postgres:postgres@db/clinic")
    prod.setenv("SMTP_USERNAME", "u")
    names = sorted(p.split()[0] for p in problems())
    assert names == ["CONSOLE_SECRET_KEY", "DATABASE_URL", "RASA_API_TOKEN", "SMTP_PASSWORD"]


def run_bot(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {k: v for k, v in os.environ.items() if k not in SECRET_VARS}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "command",
    [
        ("run",),
        ("outbox", "work", "--once"),
        ("console", "serve"),
        ("actions", "serve"),
        ("config", "check"),
    ],
)
def test_entry_points_exit_2_with_a_clear_message(command: tuple[str, ...], tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = run_bot(
        *command,
        env={
            "APP_ENV": "production",
            "CONSOLE_SECRET_KEY": "change-me",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
        },
    )
    assert result.returncode == 2, result.stderr
    assert "CONSOLE_SECRET_KEY" in result.stderr
    assert "change-me" not in result.stderr.replace("`", "")  # names, never values


def test_config_check_passes_with_real_secrets(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = run_bot(
        "config",
        "check",
        env={
            "APP_ENV": "production",
            "CONSOLE_SECRET_KEY": GOOD_KEY,
            "ACTION_SERVER_TOKEN": GOOD_KEY,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
        },
    )
    assert result.returncode == 0, result.stderr
    assert "configuration ok: production" in result.stdout


def test_action_server_package_refuses_placeholders(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os

    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARS}
    env.update(APP_ENV="production", CONSOLE_SECRET_KEY="", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", "import actions"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "the action server" in result.stderr and "CONSOLE_SECRET_KEY" in result.stderr
