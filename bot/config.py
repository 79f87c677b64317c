"""Every setting, read from the environment in one place.

`.env` is loaded with python-dotenv; real environment variables take
precedence. Nothing else in the project reads `os.environ`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTENT_DIR = Path(__file__).resolve().parent / "content"

PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "placeholder", "secret", "xxx"}


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _env_int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def _env_float(name: str, default: float) -> float:
    raw = _env(name, str(default))
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


def _env_bool(name: str, default: bool) -> bool:
    return _env(name, "true" if default else "false").lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in _env(name, default).split(",") if item.strip()]


@dataclass(frozen=True)
class Clinic:
    """Clinic-specific facts; content refers to them only through placeholders."""

    name: str
    phone: str
    address: str
    hours_text: str
    url: str
    offers_iv: bool
    offers_spravato: bool
    price_consultation: str
    price_infusion: str
    price_spravato: str
    insurance_note: str
    timezone: str
    office_hours: str  # e.g. "mon-fri 09:00-17:00; sat 10:00-14:00"

    @property
    def treatments(self) -> str:
        offered = []
        if self.offers_iv:
            offered.append("IV ketamine infusions")
        if self.offers_spravato:
            offered.append("SPRAVATO (esketamine) nasal spray")
        return " and ".join(offered) or "ketamine-based treatments"

    def placeholders(self) -> dict[str, str]:
        """Values for the `{placeholder}` names content may use."""
        return {
            "clinic_name": self.name,
            "clinic_phone": self.phone,
            "clinic_address": self.address,
            "clinic_hours": self.hours_text,
            "clinic_url": self.url,
            "clinic_treatments": self.treatments,
            "price_consultation": self.price_consultation,
            "price_infusion": self.price_infusion,
            "price_spravato": self.price_spravato,
            "insurance_note": self.insurance_note,
        }


@dataclass(frozen=True)
class CrisisResources:
    """Crisis lines shown on every crisis turn (US defaults, configurable)."""

    line_number: str
    text_line: str
    emergency_number: str


@dataclass(frozen=True)
class Settings:
    environment: str
    database_url: str
    rasa_port: int
    action_port: int
    console_port: int
    action_endpoint_url: str
    rasa_api_token: str
    clinic: Clinic
    crisis: CrisisResources
    content_max_review_age_days: int
    faq_confidence_threshold: float
    staff_webhook_url: str
    staff_emails: list[str]
    staff_sms_numbers: list[str]
    smtp_host: str
    smtp_port: int
    smtp_username: str
    smtp_password: str
    smtp_from: str
    smtp_starttls: bool
    twilio_account_sid: str
    twilio_auth_token: str
    twilio_from_number: str
    twilio_api_base_url: str
    outbox_poll_seconds: float
    outbox_max_backoff_seconds: float
    phone_default_region: str

    @property
    def is_production(self) -> bool:
        return self.environment == "production"


def _default_database_url() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'var' / 'clinic.db'}"


def load_settings() -> Settings:
    """Build settings from the environment (after loading `.env`)."""
    load_dotenv(PROJECT_ROOT / ".env", override=False)
    rasa_port = _env_int("RASA_PORT", 5005)
    action_port = _env_int("ACTION_PORT", 5055)
    return Settings(
        environment=_env("APP_ENV", "development").lower(),
        database_url=_env("DATABASE_URL") or _default_database_url(),
        rasa_port=rasa_port,
        action_port=action_port,
        console_port=_env_int("CONSOLE_PORT", 8080),
        action_endpoint_url=_env("ACTION_ENDPOINT_URL")
        or f"http://127.0.0.1:{action_port}/webhook",
        rasa_api_token=_env("RASA_API_TOKEN"),
        clinic=Clinic(
            name=_env("CLINIC_NAME", "Example Ketamine Clinic"),
            phone=_env("CLINIC_PHONE", "(555) 010-0100"),
            address=_env("CLINIC_ADDRESS", "100 Example Street, Suite 200, Springfield"),
            hours_text=_env("CLINIC_HOURS_TEXT", "Monday to Friday, 9 am to 5 pm"),
            url=_env("CLINIC_URL", "https://clinic.example.org"),
            offers_iv=_env_bool("CLINIC_OFFERS_IV", True),
            offers_spravato=_env_bool("CLINIC_OFFERS_SPRAVATO", True),
            price_consultation=_env("PRICE_CONSULTATION", "$250"),
            price_infusion=_env("PRICE_INFUSION", "$450 per infusion"),
            price_spravato=_env(
                "PRICE_SPRAVATO", "billed through your insurance where it is covered"
            ),
            insurance_note=_env(
                "INSURANCE_NOTE",
                "IV ketamine is usually self-pay; we can give you a receipt (superbill) "
                "to submit to your insurer.",
            ),
            timezone=_env("CLINIC_TIMEZONE", "America/New_York"),
            office_hours=_env("CLINIC_OFFICE_HOURS", "mon-fri 09:00-17:00"),
        ),
        crisis=CrisisResources(
            line_number=_env("CRISIS_LINE_NUMBER", "988"),
            text_line=_env("CRISIS_TEXT_LINE", "text HOME to 741741"),
            emergency_number=_env("EMERGENCY_NUMBER", "911"),
        ),
        content_max_review_age_days=_env_int("CONTENT_MAX_REVIEW_AGE_DAYS", 365),
        faq_confidence_threshold=_env_float("FAQ_CONFIDENCE_THRESHOLD", 0.25),
        staff_webhook_url=_env("STAFF_WEBHOOK_URL"),
        staff_emails=_env_list("STAFF_ALERT_EMAILS"),
        staff_sms_numbers=_env_list("STAFF_ALERT_SMS_NUMBERS"),
        smtp_host=_env("SMTP_HOST"),
        smtp_port=_env_int("SMTP_PORT", 587),
        smtp_username=_env("SMTP_USERNAME"),
        smtp_password=_env("SMTP_PASSWORD"),
        smtp_from=_env("SMTP_FROM", "assistant@clinic.example.org"),
        smtp_starttls=_env_bool("SMTP_STARTTLS", True),
        twilio_account_sid=_env("TWILIO_ACCOUNT_SID"),
        twilio_auth_token=_env("TWILIO_AUTH_TOKEN"),
        twilio_from_number=_env("TWILIO_FROM_NUMBER"),
        twilio_api_base_url=_env("TWILIO_API_BASE_URL"),
        outbox_poll_seconds=_env_float("OUTBOX_POLL_SECONDS", 2.0),
        outbox_max_backoff_seconds=_env_float("OUTBOX_MAX_BACKOFF_SECONDS", 300.0),
        phone_default_region=_env("PHONE_DEFAULT_REGION", "US"),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings for this process (read once; tests call `get_settings.cache_clear()`)."""
    return load_settings()


def rasa_environment(settings: Settings) -> dict[str, str]:
    """Variables that `endpoints.yml` interpolates (`${...}`), with defaults filled in."""
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", settings.database_url)
    env.setdefault("ACTION_ENDPOINT_URL", settings.action_endpoint_url)
    env.setdefault("PYTHONPATH", str(PROJECT_ROOT))
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    return env
