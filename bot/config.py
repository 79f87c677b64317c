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
# Rasa input-channel name of the SMS channel; answers and actions pick SMS variants by it.
SMS_CHANNEL = "twilio_sms"
# Header with ACTION_SERVER_TOKEN on every request from Rasa to the action server.
ACTION_TOKEN_HEADER = "X-Action-Token"

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
    rasa_url: str
    clinic: Clinic
    crisis: CrisisResources
    content_max_review_age_days: int
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
    redis_url: str
    max_message_chars: int
    rate_limit_messages: int
    rate_limit_window_seconds: int
    # Website widget channel (bot/channels/widget.py): origins allowed by CORS.
    web_allowed_origins: tuple[str, ...] = ("http://localhost:5005", "http://127.0.0.1:5005")
    # Staff console (bot/console): the defaults suit local development only.
    console_host: str = "127.0.0.1"
    console_secret_key: str = ""
    console_seed_email: str = ""
    console_seed_password: str = ""
    console_max_failed_logins: int = 5
    console_lockout_minutes: int = 15
    console_session_hours: int = 12
    # SMS channel (bot/channels/twilio_sms.py): the URL Twilio calls (signatures are
    # computed over it, so it must match exactly, also behind a proxy or tunnel),
    # the key that turns phone numbers into conversation ids, and reply sizes.
    sms_public_url: str = ""
    sms_id_secret: str = ""
    sms_max_chars: int = 320
    sms_max_segments: int = 3
    # Retention (`python -m bot purge`): days conversations, leads and alerts are kept.
    retention_days: int = 365
    # The outbox worker touches this file after every pass (`python -m bot outbox health`).
    outbox_heartbeat_file: str = ""
    # Outbox delivery (bot/staff/outbox.py): one attempt's time limit, the first
    # retry interval (doubling up to OUTBOX_MAX_BACKOFF_SECONDS; never shorter than
    # twice the attempt timeout) and the lease a worker holds while delivering.
    outbox_attempt_timeout_seconds: float = 5.0
    outbox_retry_seconds: float = 10.0
    outbox_lease_seconds: float = 15.0
    # Staff console: failed sign-ins from one client address (any accounts) within
    # CONSOLE_LOCKOUT_MINUTES before that address is refused; the minimum zxcvbn
    # score (0-4) of a new password; reverse proxies in front (X-Forwarded-For).
    console_max_failed_logins_per_address: int = 20
    console_min_password_score: int = 3
    console_trusted_proxies: int = 0

    # Bind addresses (local only unless set) and the secret every action-server
    # request carries (required in production; `python -m bot run` makes one per
    # start in development); a custom action gets this long before the person is
    # told it failed (bot/channels/in_process.py).
    rasa_host: str = "127.0.0.1"
    action_host: str = "127.0.0.1"
    action_server_token: str = ""
    action_timeout_seconds: float = 10.0
    # Crisis episodes (bot/staff/escalation.py): crisis messages of one conversation
    # within this many minutes of the previous one update the same escalation, and
    # staff get at most one update alert per ESCALATION_UPDATE_MINUTES.
    escalation_episode_minutes: int = 60
    escalation_update_minutes: int = 5

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
        # Where the console reaches Rasa's HTTP API (takeover); any replica will do.
        rasa_url=(_env("RASA_URL") or f"http://127.0.0.1:{rasa_port}").rstrip("/"),
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
        redis_url=_env("REDIS_URL"),
        max_message_chars=_env_int("MAX_MESSAGE_CHARS", 2000),
        rate_limit_messages=_env_int("RATE_LIMIT_MESSAGES", 30),
        rate_limit_window_seconds=_env_int("RATE_LIMIT_WINDOW_SECONDS", 60),
        web_allowed_origins=tuple(
            _env_list("WEB_ALLOWED_ORIGINS", "http://localhost:5005,http://127.0.0.1:5005")
        ),
        console_host=_env("CONSOLE_HOST", "127.0.0.1"),
        console_secret_key=_env("CONSOLE_SECRET_KEY"),
        console_seed_email=_env("CONSOLE_SEED_EMAIL"),
        console_seed_password=_env("CONSOLE_SEED_PASSWORD"),
        console_max_failed_logins=_env_int("CONSOLE_MAX_FAILED_LOGINS", 5),
        console_lockout_minutes=_env_int("CONSOLE_LOCKOUT_MINUTES", 15),
        console_session_hours=_env_int("CONSOLE_SESSION_HOURS", 12),
        sms_public_url=_env("SMS_PUBLIC_URL"),
        sms_id_secret=_env("SMS_ID_SECRET"),
        sms_max_chars=max(_env_int("SMS_MAX_CHARS", 320), 160),
        sms_max_segments=max(_env_int("SMS_MAX_SEGMENTS", 3), 1),
        retention_days=_env_int("RETENTION_DAYS", 365),
        rasa_host=_env("RASA_HOST", "127.0.0.1"),
        action_host=_env("ACTION_HOST", "127.0.0.1"),
        action_server_token=_env("ACTION_SERVER_TOKEN"),
        action_timeout_seconds=max(_env_float("ACTION_TIMEOUT_SECONDS", 10.0), 0.5),
        escalation_episode_minutes=max(_env_int("ESCALATION_EPISODE_MINUTES", 60), 1),
        escalation_update_minutes=max(_env_int("ESCALATION_UPDATE_MINUTES", 5), 1),
        outbox_heartbeat_file=_env("OUTBOX_HEARTBEAT_FILE")
        or str(PROJECT_ROOT / "var" / "outbox.heartbeat"),
        outbox_attempt_timeout_seconds=max(_env_float("OUTBOX_ATTEMPT_TIMEOUT_SECONDS", 5.0), 0.1),
        outbox_retry_seconds=_env_float("OUTBOX_RETRY_SECONDS", 10.0),
        outbox_lease_seconds=_env_float("OUTBOX_LEASE_SECONDS", 15.0),
        console_max_failed_logins_per_address=_env_int("CONSOLE_MAX_FAILED_LOGINS_PER_ADDRESS", 20),
        console_min_password_score=min(max(_env_int("CONSOLE_MIN_PASSWORD_SCORE", 3), 0), 4),
        console_trusted_proxies=max(_env_int("CONSOLE_TRUSTED_PROXIES", 0), 0),
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
    env.setdefault("ACTION_SERVER_TOKEN", settings.action_server_token)
    env.setdefault("PYTHONPATH", str(PROJECT_ROOT))
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    return env


# --- Production start-up check ------------------------------------------------
# SPEC section 3: the app refuses to start with a placeholder secret in production.
# Every entry point calls `require_production_ready`, so a forgotten `.env` line
# stops the deployment at once instead of running with a guessable key.

MIN_SECRET_LENGTH = 16
MIN_SEED_PASSWORD_LENGTH = 12
# Database/Redis passwords that ship in examples and images: never in production.
WEAK_SERVICE_PASSWORDS = PLACEHOLDER_SECRETS | {
    "postgres",
    "password",
    "redis",
    "redis-password",
    "admin",
    "root",
    "clinic",
}
_PLACEHOLDER_PREFIXES = ("change-me", "changeme", "change_me", "replace-me", "your-", "<", "${")


def is_placeholder_secret(value: str) -> bool:
    """Empty, a known placeholder, or an obvious template value such as `<token>`."""
    lowered = value.strip().lower()
    return lowered in PLACEHOLDER_SECRETS or lowered.startswith(_PLACEHOLDER_PREFIXES)


def _url_password(url: str) -> str | None:
    """The password in a database/Redis URL (None when the URL carries none)."""
    from urllib.parse import unquote, urlsplit

    try:
        password = urlsplit(url).password
    except ValueError:
        return None
    return None if password is None else unquote(password)


def validate_for_production(settings: Settings) -> list[str]:
    """Why these settings must not run in production (empty list: fine, or not production).

    Messages name the variable, never its value, so they are safe to log.
    """
    if not settings.is_production:
        return []
    problems: list[str] = []

    def secret(
        name: str, value: str, *, required: bool, min_length: int = MIN_SECRET_LENGTH
    ) -> None:
        if not value:
            if required:
                problems.append(f"{name} is not set")
        elif is_placeholder_secret(value):
            problems.append(f"{name} is still a placeholder value")
        elif len(value) < min_length:
            problems.append(f"{name} is shorter than {min_length} characters")

    # Empty token = Rasa's HTTP API stays off (safe); a set token must be a real one.
    secret("RASA_API_TOKEN", settings.rasa_api_token, required=False)
    secret("CONSOLE_SECRET_KEY", settings.console_secret_key, required=True)
    # Every action-server request carries it; without it the action server refuses.
    secret("ACTION_SERVER_TOKEN", settings.action_server_token, required=True)
    if settings.console_seed_password:
        secret(
            "CONSOLE_SEED_PASSWORD",
            settings.console_seed_password,
            required=False,
            min_length=MIN_SEED_PASSWORD_LENGTH,
        )
    twilio_configured = bool(
        settings.twilio_account_sid or settings.twilio_from_number or settings.sms_public_url
    )
    if twilio_configured:
        secret("TWILIO_AUTH_TOKEN", settings.twilio_auth_token, required=True)
    sms_channel = bool(settings.sms_public_url or settings.twilio_account_sid)
    secret("SMS_ID_SECRET", settings.sms_id_secret, required=sms_channel)
    if settings.smtp_username:
        secret("SMTP_PASSWORD", settings.smtp_password, required=True, min_length=1)
    for name, url in (
        ("DATABASE_URL", settings.database_url),
        ("REDIS_URL", getattr(settings, "redis_url", "")),
    ):
        password = _url_password(url) if url else None
        if password is not None and (
            password.strip().lower() in WEAK_SERVICE_PASSWORDS or is_placeholder_secret(password)
        ):
            problems.append(f"{name} uses a default or placeholder password")
    return problems


def require_production_ready(settings: Settings, *, process: str = "this process") -> None:
    """Exit with status 2 and a clear message when `validate_for_production` finds problems."""
    import sys

    problems = validate_for_production(settings)
    if not problems:
        return
    lines = [f"Refusing to start {process} with APP_ENV=production:"]
    lines += [f"  - {problem}" for problem in problems]
    lines.append("Set real values in the environment or .env (see .env.example).")
    print("\n".join(lines), file=sys.stderr)
    raise SystemExit(2)
