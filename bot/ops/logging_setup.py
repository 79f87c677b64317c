"""Production logging: one JSON object per line, with personal data masked.

Patients type phone numbers, emails and sensitive health details into the bot,
and logs are shipped to places with weaker access control than the database.
`RedactionFilter` therefore masks phone numbers and emails anywhere in a log
record (message, arguments, extra fields, tracebacks) and replaces any field
or dict key that carries message text (`text`, `message`, `body`, ...) with
`[redacted]`. `JsonFormatter` makes the result machine-readable.

`configure_logging` turns both on for the project's own processes when
`APP_ENV=production`; the Rasa server gets the same classes through
`deploy/logging.yml` (`rasa run --logging-config-file deploy/logging.yml`).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import phonenumbers

PHONE_MASK = "[phone]"
EMAIL_MASK = "[email]"
TEXT_MASK = "[redacted]"

# Keys whose values are (or may be) what a person typed, or contact details.
# Twilio's webhook form uses Body/From/To; Rasa's REST payload uses message.
SENSITIVE_KEYS = frozenset(
    {
        "text",
        "message",
        "body",
        "message_text",
        "last_message",
        "user_message",
        "utterance",
        "email",
        "phone",
        "phone_e164",
        "from",
        "to",
        "contact",
        "name",
        "consent_text",
    }
)

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# SQLAlchemy errors quote the statement's parameters: they may hold anything.
SQL_PARAMETERS_RE = re.compile(r"\[parameters: .*?\](?=\s*(?:\(|$))", re.DOTALL | re.MULTILINE)
_DIGITS_RE = re.compile(r"\d")
_MIN_PHONE_DIGITS = 7

# Attributes every LogRecord has; anything else came in through `extra=`.
_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def redact_text(text: str, region: str = "US") -> str:
    """Mask phone numbers and email addresses in free text."""
    if not text:
        return text
    text = EMAIL_RE.sub(EMAIL_MASK, text)
    if len(_DIGITS_RE.findall(text)) < _MIN_PHONE_DIGITS:
        return text  # fast path: too few digits for any phone number
    pieces: list[str] = []
    last = 0
    # POSSIBLE (not VALID): the fictional 555 numbers people test with are masked too.
    matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE)
    for match in matcher:
        start, end = match.start, match.end
        # Digits inside a longer token (hex ids, hashes) are not phone numbers.
        if (start > 0 and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum()):
            continue
        pieces.append(text[last:start])
        pieces.append(PHONE_MASK)
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def redact_value(value: Any, region: str = "US", depth: int = 0) -> Any:
    """Redact a log argument: strings by pattern, mappings/sequences by key and recursively."""
    if depth > 6:
        return TEXT_MASK
    if isinstance(value, str):
        return redact_text(value, region)
    if isinstance(value, Mapping):
        return {
            key: (
                TEXT_MASK
                if isinstance(key, str) and key.lower() in SENSITIVE_KEYS and item is not None
                else redact_value(item, region, depth + 1)
            )
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return type(value)(redact_value(item, region, depth + 1) for item in value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return redact_text(str(value), region)


class RedactionFilter(logging.Filter):
    """Masks personal data in a record in place; never drops a record.

    Attach it to handlers (not loggers): handler filters also see records
    propagated from child loggers. The record is rewritten once (message
    formatted and args cleared), so every handler and formatter sees the
    redacted version.
    """

    def __init__(self, name: str = "", region: str = "US") -> None:
        super().__init__(name)
        self.region = region

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted", False):
            return True
        region = self.region
        for attr in set(record.__dict__) - _STANDARD_ATTRS:
            if attr.startswith("_"):
                continue
            value = record.__dict__[attr]
            record.__dict__[attr] = (
                TEXT_MASK if attr.lower() in SENSITIVE_KEYS else redact_value(value, region)
            )
        msg, args = record.msg, record.args
        if isinstance(msg, Mapping):
            msg = json.dumps(redact_value(msg, region), default=str, ensure_ascii=False)
        if args:
            args = redact_value(args, region)
        try:
            text = str(msg) % args if args else str(msg)
        except (TypeError, ValueError, KeyError):
            text = f"{msg} {args!r}"
        record.msg = redact_text(SQL_PARAMETERS_RE.sub("[parameters: redacted]", text), region)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(
                SQL_PARAMETERS_RE.sub("[parameters: redacted]", record.exc_text), region
            )
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info, region)
        record._redacted = True
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for attr in set(record.__dict__) - _STANDARD_ATTRS:
            if not attr.startswith("_"):
                entry[attr] = record.__dict__[attr]
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, default=str, ensure_ascii=False)


def json_handler(region: str = "US", stream: Any = None) -> logging.Handler:
    """A stderr handler that redacts and writes JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactionFilter(region=region))
    return handler


def configure_logging(settings: Any = None, *, level: int = logging.INFO) -> None:
    """Root logging for a project process: JSON + redaction in production, plain text otherwise.

    Replaces the root handlers in production, because Rasa SDK installs its own
    (coloredlogs) handler before it imports `actions`.
    """
    if settings is None:
        from bot.config import get_settings

        settings = get_settings()
    root = logging.getLogger()
    if not settings.is_production:
        if not root.handlers:
            logging.basicConfig(
                level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
            )
        return
    for handler in list(root.handlers):
        if not isinstance(handler.formatter, JsonFormatter):
            root.removeHandler(handler)
    if not root.handlers:
        root.addHandler(json_handler(settings.phone_default_region))
    root.setLevel(level)
