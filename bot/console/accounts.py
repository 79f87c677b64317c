"""Staff accounts: creation, password checks with lockout, development seeding.

Kept apart from the Flask app so the CLI can create accounts without a web
server, and so the lockout rules are in one place.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from bot.config import PLACEHOLDER_SECRETS, Settings
from bot.store.db import session_scope
from bot.store.models import StaffUser, utcnow

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 12
# Checked against when the email is unknown, so a miss costs as long as a hit
# and response times do not reveal which accounts exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password-for-timing")


class AccountError(ValueError):
    """An account could not be created or changed (message is for the operator)."""


def normalise_email(email: str) -> str:
    """Emails are compared case-insensitively: stored lower-case and trimmed."""
    return email.strip().lower()


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip().lower() in PLACEHOLDER_SECRETS:
        raise AccountError("that password is a known placeholder")


def create_user(database_url: str, email: str, password: str, *, update: bool = False) -> int:
    """Create an account (or, with `update`, set a new password and lift any lockout)."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 320:
        raise AccountError(f"not an email address: {email!r}")
    check_new_password(password)
    with session_scope(database_url) as session:
        user = session.scalar(select(StaffUser).where(StaffUser.email == email))
        if user is not None and not update:
            raise AccountError(f"{email} already exists (use --update to set a new password)")
        if user is None:
            user = StaffUser(email=email, password_hash="")
            session.add(user)
        user.password_hash = generate_password_hash(password)
        user.failed_logins = 0
        user.locked_until = None
        user.is_active = True
        session.flush()
        return user.id


@dataclass(frozen=True)
class LoginResult:
    user_id: int | None
    email: str | None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.user_id is not None


def authenticate(settings: Settings, email: str, password: str) -> LoginResult:
    """Check a password; count failures and lock the account after too many."""
    email = normalise_email(email)
    now = utcnow()
    with session_scope(settings.database_url) as session:
        user = session.scalar(select(StaffUser).where(StaffUser.email == email))
        if user is None or not user.is_active:
            check_password_hash(_DUMMY_HASH, password)
            return LoginResult(None, None)
        if user.locked_until is not None and user.locked_until > now:
            # No password check while locked: guesses during a lockout teach nothing.
            return LoginResult(None, None, locked_until=user.locked_until)
        if check_password_hash(user.password_hash, password):
            user.failed_logins = 0
            user.locked_until = None
            user.last_login_at = now
            return LoginResult(user.id, user.email)
        # Atomic increment: parallel guesses cannot slip past the limit.
        session.execute(
            update(StaffUser)
            .where(StaffUser.id == user.id)
            .values(failed_logins=func.coalesce(StaffUser.failed_logins, 0) + 1)
        )
        failures = session.scalar(select(StaffUser.failed_logins).where(StaffUser.id == user.id))
        if failures >= settings.console_max_failed_logins:
            locked_until = now + timedelta(minutes=settings.console_lockout_minutes)
            session.execute(
                update(StaffUser)
                .where(StaffUser.id == user.id)
                .values(failed_logins=0, locked_until=locked_until)
            )
            logger.warning("Staff account %s locked after %s failed logins", email, failures)
            return LoginResult(None, None, locked_until=locked_until)
        return LoginResult(None, None)


def active_user_email(database_url: str, user_id: int) -> str | None:
    """The email of an active account (None if it was removed or disabled since login)."""
    with session_scope(database_url) as session:
        user = session.get(StaffUser, user_id)
        return user.email if user is not None and user.is_active else None


def seed_from_settings(settings: Settings) -> None:
    """Create the CONSOLE_SEED_EMAIL account if it is configured and missing.

    Meant for development; in production it is refused when the password is a
    placeholder or too short, so a copied `.env.example` cannot open the console.
    """
    email, password = settings.console_seed_email, settings.console_seed_password
    if not email and not password:
        return
    if not email or not password:
        raise SystemExit("CONSOLE_SEED_EMAIL and CONSOLE_SEED_PASSWORD must be set together")
    weak = password.strip().lower() in PLACEHOLDER_SECRETS or len(password) < MIN_PASSWORD_LENGTH
    if settings.is_production and weak:
        raise SystemExit(
            "Refusing to seed a staff account with a placeholder or short password in "
            "production: unset CONSOLE_SEED_PASSWORD and use `python -m bot console create-user`."
        )
    with session_scope(settings.database_url) as session:
        exists = session.scalar(
            select(StaffUser.id).where(StaffUser.email == normalise_email(email))
        )
        if exists is not None:
            return
        session.add(
            StaffUser(email=normalise_email(email), password_hash=generate_password_hash(password))
        )
    logger.warning("Seeded staff console account %s from CONSOLE_SEED_EMAIL", email)
