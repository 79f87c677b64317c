"""Staff accounts: creation, password checks with lockout, sessions, development seeding.

Kept apart from the Flask app so the CLI can create accounts without a web
server, and so the lockout and session rules are in one place:

* New passwords need MIN_PASSWORD_LENGTH characters and a zxcvbn score of at
  least CONSOLE_MIN_PASSWORD_SCORE (0-4; zxcvbn knows common passwords, words,
  names, keyboard patterns, repeats and dates, and the account's own email).
* Failed sign-ins are counted per account (CONSOLE_MAX_FAILED_LOGINS locks the
  account) and per client address over any accounts, unknown ones included
  (CONSOLE_MAX_FAILED_LOGINS_PER_ADDRESS refuses that address), both for
  CONSOLE_LOCKOUT_MINUTES.
* Every signed session carries the account's `session_version`; logout and a
  password change or reset bump it, so every session issued before ends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from bot.config import PLACEHOLDER_SECRETS, Settings
from bot.store.db import session_scope
from bot.store.models import LoginFailure, StaffUser, utcnow

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 12
DEFAULT_MIN_PASSWORD_SCORE = 3  # zxcvbn: 3 = "safely unguessable", 4 = "very unguessable"
MAX_CHECKED_PASSWORD_CHARS = 200  # zxcvbn's cost grows with length; the rest adds strength
# Checked against when the email is unknown, so a miss costs as long as a hit
# and response times do not reveal which accounts exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password-for-timing")


class AccountError(ValueError):
    """An account could not be created or changed (message is for the operator)."""


def normalise_email(email: str) -> str:
    """Emails are compared case-insensitively: stored lower-case and trimmed."""
    return email.strip().lower()


def password_problem(
    password: str, *, email: str = "", min_score: int = DEFAULT_MIN_PASSWORD_SCORE
) -> str | None:
    """Why a new password is refused (None: acceptable)."""
    from zxcvbn import zxcvbn

    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
    if password.strip().lower() in PLACEHOLDER_SECRETS:
        return "that password is a known placeholder"
    email = normalise_email(email)
    local, _, domain = email.partition("@")
    if len(local) >= 4 and local in password.lower():
        return "the password must not contain the account's email address"
    hints = [h for h in (email, local, *domain.split("."), "clinic", "ketamine", "staff") if h]
    result = zxcvbn(password[:MAX_CHECKED_PASSWORD_CHARS], user_inputs=hints)
    if result["score"] >= min_score:
        return None
    feedback = result.get("feedback") or {}
    advice = " ".join(filter(None, [feedback.get("warning"), *feedback.get("suggestions", [])]))
    return (
        f"the password is too easy to guess (strength {result['score']} of 4, at least "
        f"{min_score} needed)" + (f": {advice}" if advice else "")
    )


def check_new_password(
    password: str, *, email: str = "", min_score: int = DEFAULT_MIN_PASSWORD_SCORE
) -> None:
    problem = password_problem(password, email=email, min_score=min_score)
    if problem:
        raise AccountError(problem)


def create_user(
    database_url: str,
    email: str,
    password: str,
    *,
    update: bool = False,
    min_score: int = DEFAULT_MIN_PASSWORD_SCORE,
    first_name: str | None = None,
) -> int:
    """Create an account (or, with `update`, reset its password: this lifts any lockout
    and signs out every session of the account)."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 320:
        raise AccountError(f"not an email address: {email!r}")
    check_new_password(password, email=email, min_score=min_score)
    with session_scope(database_url) as session:
        user = session.scalar(select(StaffUser).where(StaffUser.email == email))
        if user is not None and not update:
            raise AccountError(f"{email} already exists (use --update to set a new password)")
        if user is None:
            user = StaffUser(email=email, password_hash="", session_version=1)
            session.add(user)
        else:
            user.session_version = (user.session_version or 0) + 1
            logger.warning("Password of staff account %s reset: its sessions are revoked", email)
        user.password_hash = generate_password_hash(password)
        user.password_changed_at = utcnow()
        if first_name:
            user.first_name = first_name.strip()[:60]
        user.failed_logins = 0
        user.locked_until = None
        user.is_active = True
        session.flush()
        return user.id


def change_password(
    settings: Settings, user_id: int, current_password: str, new_password: str
) -> int:
    """A signed-in member changes their own password; returns the new session version
    (the caller's session keeps working with it, every other session ends)."""
    with session_scope(settings.database_url) as session:
        user = session.get(StaffUser, user_id)
        if user is None or not user.is_active:
            raise AccountError("the account no longer exists")
        if not check_password_hash(user.password_hash, current_password):
            raise AccountError("the current password is wrong")
        if current_password == new_password:
            raise AccountError("the new password must differ from the current one")
        check_new_password(
            new_password, email=user.email, min_score=settings.console_min_password_score
        )
        user.password_hash = generate_password_hash(new_password)
        user.password_changed_at = utcnow()
        user.session_version = (user.session_version or 0) + 1
        logger.info("Staff account %s changed its password; other sessions revoked", user.email)
        return user.session_version


def revoke_sessions(database_url: str, user_id: int) -> None:
    """End every session of an account (logout signs out everywhere)."""
    with session_scope(database_url) as session:
        session.execute(
            update(StaffUser)
            .where(StaffUser.id == user_id)
            .values(session_version=func.coalesce(StaffUser.session_version, 0) + 1)
        )


@dataclass(frozen=True)
class LoginResult:
    user_id: int | None
    email: str | None
    locked_until: datetime | None = None
    session_version: int | None = None
    address_locked: bool = False  # too many failures from this client address

    @property
    def ok(self) -> bool:
        return self.user_id is not None


def _address(client_address: str | None) -> str:
    return (client_address or "unknown").strip()[:64] or "unknown"


def address_locked_until(settings: Settings, session, address: str, now: datetime):  # type: ignore[no-untyped-def]
    """When this address may try again (None: it may now)."""
    limit = settings.console_max_failed_logins_per_address
    if limit <= 0:
        return None
    window = timedelta(minutes=settings.console_lockout_minutes)
    # The limit-th most recent failure in the window: the lock lifts when it ages out.
    nth = session.scalar(
        select(LoginFailure.failed_at)
        .where(LoginFailure.client_address == address, LoginFailure.failed_at > now - window)
        .order_by(LoginFailure.failed_at.desc())
        .offset(limit - 1)
        .limit(1)
    )
    return None if nth is None else nth + window


def _record_failure(settings: Settings, session, address: str, email: str, now: datetime) -> None:  # type: ignore[no-untyped-def]
    window = timedelta(minutes=settings.console_lockout_minutes)
    session.execute(delete(LoginFailure).where(LoginFailure.failed_at <= now - window))
    session.add(LoginFailure(client_address=address, email=email[:320], failed_at=now))


def authenticate(
    settings: Settings, email: str, password: str, client_address: str | None = None
) -> LoginResult:
    """Check a password; count failures per account and per client address, and lock
    the account, or refuse the address, after too many."""
    email = normalise_email(email)
    address = _address(client_address)
    now = utcnow()
    with session_scope(settings.database_url) as session:
        address_until = address_locked_until(settings, session, address, now)
        if address_until is not None:
            # No password check: guesses from a refused address teach nothing.
            check_password_hash(_DUMMY_HASH, password)
            return LoginResult(None, None, locked_until=address_until, address_locked=True)
        user = session.scalar(select(StaffUser).where(StaffUser.email == email))
        if user is None or not user.is_active:
            check_password_hash(_DUMMY_HASH, password)
            _record_failure(settings, session, address, email, now)
            return LoginResult(None, None)
        if user.locked_until is not None and user.locked_until > now:
            # No password check while locked: guesses during a lockout teach nothing.
            _record_failure(settings, session, address, email, now)
            return LoginResult(None, None, locked_until=user.locked_until)
        if check_password_hash(user.password_hash, password):
            user.failed_logins = 0
            user.locked_until = None
            user.last_login_at = now
            return LoginResult(user.id, user.email, session_version=user.session_version)
        _record_failure(settings, session, address, email, now)
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


def session_user_email(database_url: str, user_id: int, session_version: object) -> str | None:
    """The email behind a signed session, or None if the session was revoked since
    (logout, password change or reset), or the account was removed or disabled."""
    with session_scope(database_url) as session:
        user = session.get(StaffUser, user_id)
        if user is None or not user.is_active or user.session_version != session_version:
            return None
        return user.email


def user_first_name(database_url: str, user_id: int) -> str | None:
    """The account's first name as patients see it (None: derive it from the email)."""
    with session_scope(database_url) as session:
        user = session.get(StaffUser, user_id)
        return user.first_name if user is not None else None


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
    problem = password_problem(password, email=email, min_score=settings.console_min_password_score)
    if settings.is_production and problem:
        raise SystemExit(
            "Refusing to seed a staff account with a placeholder, short or weak password in "
            f"production ({problem}): unset CONSOLE_SEED_PASSWORD and use "
            "`python -m bot console create-user`."
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
