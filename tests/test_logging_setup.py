"""Production logs: JSON lines with phone numbers, emails and message text masked."""

from __future__ import annotations

import importlib
import io
import json
import logging
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from bot.ops.logging_setup import (
    EMAIL_MASK,
    PHONE_MASK,
    TEXT_MASK,
    JsonFormatter,
    RedactionFilter,
    configure_logging,
    json_handler,
    redact_text,
)


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing through the production handler into a string."""
    stream = io.StringIO()
    logger = logging.getLogger("tests.logging_setup")
    handler = json_handler(stream=stream)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize(
    "phone",
    [
        "(415) 867-5309",
        "415-867-5309",
        "415.867.5309",
        "4158675309",
        "+1 415 867 5309",
        "+15550100123",
        "555-010-0100",
        "+44 20 7946 0958",
    ],
)
def test_phone_numbers_are_masked(phone: str) -> None:
    out = redact_text(f"call me at {phone} tomorrow")
    assert out == f"call me at {PHONE_MASK} tomorrow"


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-15 10:00:00 started",
        "Alert 42 delivered via webhook (attempt 3)",
        "listening on port 5005",
        "conversation 8f14e45fceea167a5a36dedd4bea2543 restarted",
        "sender 3f2a9c4158675309bd00 (hmac)",
    ],
)
def test_ordinary_log_text_is_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_emails_are_masked() -> None:
    assert redact_text("from jo.smith+k@clinic-mail.example.org ok") == f"from {EMAIL_MASK} ok"


def test_message_output_is_json_with_masked_args(captured) -> None:  # type: ignore[no-untyped-def]
    logger, stream = captured
    logger.info("lead %s from %s (%s)", 7, "+15550100123", "ann@example.com")
    [entry] = lines(stream)
    assert entry["level"] == "INFO"
    assert entry["logger"] == "tests.logging_setup"
    assert entry["message"] == f"lead 7 from {PHONE_MASK} ({EMAIL_MASK})"
    assert entry["time"].endswith("+00:00")


def test_fields_named_like_message_text_are_redacted(captured) -> None:  # type: ignore[no-untyped-def]
    logger, stream = captured
    logger.info(
        "received %(sender)s: %(text)s",
        {"sender": "abc123", "text": "I feel hopeless, my meds are sertraline"},
    )
    logger.info("payload %s", {"sender": "abc", "message": "private", "nested": {"body": "x"}})
    logger.warning("twilio form", extra={"body": "secret text", "from": "+15550100123", "n": 3})
    first, second, third = lines(stream)
    assert first["message"] == f"received abc123: {TEXT_MASK}"
    assert "private" not in second["message"] and "'x'" not in second["message"]
    assert "'sender': 'abc'" in second["message"]
    assert third["body"] == TEXT_MASK and third["from"] == TEXT_MASK and third["n"] == 3


def test_structured_dict_messages_are_redacted(captured) -> None:  # type: ignore[no-untyped-def]
    logger, stream = captured
    logger.info({"event": "user_message", "text": "my number is 415 867 5309"})
    [entry] = lines(stream)
    assert "867" not in entry["message"] and TEXT_MASK in entry["message"]


def test_tracebacks_and_sql_parameters_are_redacted(captured) -> None:  # type: ignore[no-untyped-def]
    logger, stream = captured
    try:
        raise ValueError(
            "insert failed [SQL: INSERT INTO leads VALUES (?, ?)]\n"
            "[parameters: ('Ann Example', 'I want to stop living')]\n"
            "(Background on this error at: https://sqlalche.me/e/14/gkpj)"
        )
    except ValueError:
        logger.exception("could not save lead for jo@example.com")
    [entry] = lines(stream)
    assert entry["message"] == f"could not save lead for {EMAIL_MASK}"
    assert "I want to stop living" not in entry["exception"]
    assert "Ann Example" not in entry["exception"]
    assert "[parameters: redacted]" in entry["exception"]


def test_filter_is_applied_once_and_keeps_every_record() -> None:
    record = logging.makeLogRecord({"msg": "to %s", "args": ("+15550100123",)})
    redaction = RedactionFilter()
    assert redaction.filter(record) and redaction.filter(record)
    assert record.getMessage() == f"to {PHONE_MASK}"


def test_json_formatter_handles_unserialisable_extras() -> None:
    record = logging.makeLogRecord({"msg": "x", "when": object()})
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "x" and "object" in entry["when"]


def test_configure_logging_switches_root_to_json_in_production() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    try:
        root.handlers = [logging.StreamHandler(io.StringIO())]
        configure_logging(SimpleNamespace(is_production=True, phone_default_region="US"))
        assert len(root.handlers) == 1
        handler = root.handlers[0]
        assert isinstance(handler.formatter, JsonFormatter)
        assert any(isinstance(f, RedactionFilter) for f in handler.filters)
    finally:
        root.handlers = saved_handlers
        root.setLevel(saved_level)


def test_rasa_logging_config_uses_the_same_classes() -> None:
    import yaml

    from bot.config import PROJECT_ROOT

    config = yaml.safe_load((PROJECT_ROOT / "deploy" / "logging.yml").read_text())
    assert config["formatters"]["json"]["()"] == "bot.ops.logging_setup.JsonFormatter"
    assert config["filters"]["redact"]["()"] == "bot.ops.logging_setup.RedactionFilter"
    assert config["handlers"]["json"]["filters"] == ["redact"]
    for name in ("rasa", "bot", "sanic"):
        assert config["loggers"][name]["handlers"] == ["json"]
    # The factories resolve and build (dictConfig would silently skip a broken file).
    for section in ("formatters", "filters"):
        for spec in config[section].values():
            module, _, name = spec["()"].rpartition(".")
            assert callable(getattr(importlib.import_module(module), name))


def test_runner_adds_the_logging_config_only_in_production() -> None:
    from pathlib import Path

    from bot.ops.runner import rasa_command

    def settings(env: str) -> SimpleNamespace:
        return SimpleNamespace(
            environment=env,
            is_production=env == "production",
            rasa_host="127.0.0.1",
            rasa_port=5005,
            rasa_api_token="",
        )

    prod = rasa_command(settings("production"), Path("m.tar.gz"))  # type: ignore[arg-type]
    dev = rasa_command(settings("development"), Path("m.tar.gz"))  # type: ignore[arg-type]
    assert "--logging-config-file" in prod and prod[-1].endswith("deploy/logging.yml")
    assert "--logging-config-file" not in dev
