"""Console accounts: sessions end on logout and on a password change or reset; weak
passwords are refused (zxcvbn); failed sign-ins lock per account and per client
address. The real Flask app on a real SQLite database, through Flask's test client."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.__main__ import main
from bot.config import Settings, get_settings
from bot.console.accounts import AccountError, create_user, password_problem
from bot.console.app import create_app
from bot.store.db import session_scope
from bot.store.models import StaffUser

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
COOKIE = "clinic_console"
EMAIL = "frontdesk@clinic.test"
PASSWORD = "long enough staff password"
NEW_PASSWORD = "blue tractor humming quietly"


@dataclass
class Console:
    app: Flask
    settings: Settings

    def client(self, address: str = "127.0.0.1") -> FlaskClient:
        client = self.app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        return client


@pytest.fixture
def console(database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Console]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CONSOLE_SECRET_KEY", "test-console-secret-key-0123456789")
    monkeypatch.setenv("CONSOLE_MAX_FAILED_LOGINS", "5")
    monkeypatch.setenv("CONSOLE_MAX_FAILED_LOGINS_PER_ADDRESS", "6")
    monkeypatch.delenv("CONSOLE_TRUSTED_PROXIES", raising=False)
    get_settings.cache_clear()
    settings = get_settings()
    create_user(settings.database_url, EMAIL, PASSWORD)
    yield Console(create_app(settings), settings)
    get_settings.cache_clear()


def token(client: FlaskClient, path: str = "/login") -> str:
    match = CSRF.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: FlaskClient, email: str = EMAIL, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post(
        "/login", data={"csrf_token": token(client), "email": email, "password": password}
    )


def signed_in(client: FlaskClient) -> bool:
    status = client.get("/api/summary.json").status_code
    assert status in (200, 401)
    return status == 200


def copy_of_cookie(source: FlaskClient, console: Console) -> FlaskClient:
    """Another browser (or an attacker) holding the same session cookie."""
    thief = console.client("198.51.100.7")
    thief.set_cookie(COOKIE, source.get_cookie(COOKIE).value)
    return thief


def change_password(client: FlaskClient, current: str, new: str, confirm: str | None = None):  # type: ignore[no-untyped-def]
    return client.post(
        "/account/password",
        data={
            "csrf_token": token(client, "/account/password"),
            "current": current,
            "new": new,
            "confirm": new if confirm is None else confirm,
        },
    )


# --- Sessions ----------------------------------------------------------------------


def test_logout_revokes_the_session_and_every_copy_of_its_cookie(console: Console) -> None:
    browser = console.client()
    assert sign_in(browser).status_code == 302 and signed_in(browser)
    copy = copy_of_cookie(browser, console)
    other_device = console.client("192.0.2.20")
    assert sign_in(other_device).status_code == 302
    assert signed_in(copy) and signed_in(other_device)
    logout = browser.post("/logout", data={"csrf_token": token(browser, "/")})
    assert logout.status_code == 302 and logout.headers["Location"].endswith("/login")
    # The copied cookie is refused, as is every other session of the account.
    assert not signed_in(copy) and not signed_in(browser) and not signed_in(other_device)
    assert copy.get("/").status_code == 302  # pages send it to the login
    # Signing in again works.
    assert sign_in(browser).status_code == 302 and signed_in(browser)


def test_a_password_change_ends_every_other_session_and_keeps_this_one(console: Console) -> None:
    browser, other = console.client(), console.client("192.0.2.21")
    assert sign_in(browser).status_code == 302 and sign_in(other).status_code == 302
    copy = copy_of_cookie(browser, console)
    assert change_password(browser, PASSWORD, NEW_PASSWORD).status_code == 302
    assert signed_in(browser)
    assert not signed_in(other) and not signed_in(copy)
    assert sign_in(console.client(), password=PASSWORD).status_code == 401
    assert sign_in(console.client(), password=NEW_PASSWORD).status_code == 302
    with session_scope() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.email == EMAIL))
        assert user.password_changed_at is not None


def test_a_password_reset_by_an_administrator_ends_every_session(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = console.client()
    assert sign_in(browser).status_code == 302 and signed_in(browser)
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW_PASSWORD + "\n"))
    assert main(["console", "create-user", EMAIL, "--update", "--password-stdin"]) == 0
    assert not signed_in(browser)
    assert sign_in(browser, password=NEW_PASSWORD).status_code == 302


def test_the_password_form_refuses_wrong_current_weak_and_mismatched(console: Console) -> None:
    browser = console.client()
    assert sign_in(browser).status_code == 302
    copy = copy_of_cookie(browser, console)
    wrong = change_password(browser, "not my password at all", NEW_PASSWORD)
    assert wrong.status_code == 400 and "current password is wrong" in wrong.get_data(True)
    weak = change_password(browser, PASSWORD, "password1234")
    assert weak.status_code == 400 and "too easy to guess" in weak.get_data(True)
    mismatch = change_password(browser, PASSWORD, NEW_PASSWORD, confirm=NEW_PASSWORD + "x")
    assert mismatch.status_code == 400 and "do not match" in mismatch.get_data(True)
    # Nothing changed: the old password and every session still work.
    assert signed_in(browser) and signed_in(copy)
    assert sign_in(console.client(), password=PASSWORD).status_code == 302
    # Without a session the form is not there.
    assert console.client().get("/account/password").status_code == 302


# --- Password strength -------------------------------------------------------------


@pytest.mark.parametrize(
    "weak",
    [
        "aaaaaaaaaaaa",
        "password1234",
        "Password1234!",
        "qwertyuiop123",
        "123456789012",
        "iloveyou2024!",
        "frontdesk2024",  # the account's own name
        "change-me",
        "short",
    ],
)
def test_weak_passwords_are_refused(database, weak: str) -> None:
    with pytest.raises(AccountError):
        create_user(get_settings().database_url, EMAIL, weak)
    assert password_problem(weak, email=EMAIL) is not None
    with session_scope() as session:
        assert session.scalar(select(StaffUser)) is None


def test_strong_passwords_are_accepted(database) -> None:
    for n, strong in enumerate([PASSWORD, NEW_PASSWORD, "correct horse battery staple"]):
        assert password_problem(strong, email=EMAIL) is None
        create_user(get_settings().database_url, f"staff{n}@clinic.test", strong)


def test_the_cli_explains_a_weak_password(
    database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("password1234\n"))
    assert main(["console", "create-user", "weak@clinic.test", "--password-stdin"]) == 1
    assert "too easy to guess" in capsys.readouterr().err


# --- Lockout -----------------------------------------------------------------------


def test_lockout_counts_failures_per_client_address(console: Console) -> None:
    """6 failures from one address spread over accounts (none reaches its own limit of
    5) refuse that address, even with a right password; another address is fine."""
    url = console.settings.database_url
    for email in ("a@clinic.test", "b@clinic.test", "c@clinic.test"):
        create_user(url, email, PASSWORD)
    attacker = console.client("203.0.113.9")
    statuses = [
        sign_in(attacker, email, "wrong guess here").status_code
        for email in ("a@clinic.test", "a@clinic.test", "b@clinic.test", "b@clinic.test")
    ]
    statuses += [sign_in(attacker, f"nobody{n}@clinic.test", "guess").status_code for n in (1, 2)]
    assert statuses == [401] * 6
    refused = sign_in(attacker, "c@clinic.test", PASSWORD)
    assert refused.status_code == 429 and "from this address" in refused.get_data(True)
    assert not signed_in(attacker)
    # The accounts themselves are not locked: from elsewhere they sign in.
    for email in ("a@clinic.test", "b@clinic.test", "c@clinic.test"):
        assert sign_in(console.client("192.0.2.30"), email, PASSWORD).status_code == 302
    with session_scope() as session:
        users = session.scalars(select(StaffUser).where(StaffUser.email != EMAIL)).all()
        assert all(u.locked_until is None for u in users)


def test_lockout_counts_failures_per_account_across_addresses(console: Console) -> None:
    statuses = [
        sign_in(console.client(f"198.51.100.{n}"), EMAIL, "wrong guess here").status_code
        for n in range(1, 6)
    ]
    assert statuses == [401, 401, 401, 401, 429]
    locked = sign_in(console.client("192.0.2.40"), EMAIL, PASSWORD)
    assert locked.status_code == 429 and "this account is locked" in locked.get_data(True)


def test_behind_a_trusted_proxy_the_forwarded_address_counts(
    database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSOLE_SECRET_KEY", "test-console-secret-key-0123456789")
    monkeypatch.setenv("CONSOLE_MAX_FAILED_LOGINS_PER_ADDRESS", "3")
    monkeypatch.setenv("CONSOLE_TRUSTED_PROXIES", "1")
    get_settings.cache_clear()
    settings = get_settings()
    create_user(settings.database_url, EMAIL, PASSWORD)
    app = create_app(settings)
    attacker, colleague = app.test_client(), app.test_client()  # both via the proxy
    attacker.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.50"
    colleague.environ_base["HTTP_X_FORWARDED_FOR"] = "192.0.2.60"
    for n in range(3):
        assert sign_in(attacker, f"nobody{n}@clinic.test", "guess").status_code == 401
    assert sign_in(attacker, EMAIL, PASSWORD).status_code == 429
    assert sign_in(colleague, EMAIL, PASSWORD).status_code == 302
    get_settings.cache_clear()
