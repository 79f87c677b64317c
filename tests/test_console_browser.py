"""The staff console in a real browser (Playwright + Debian's Chromium) and over HTTP.

The console runs as its own process against the stack's database; the lead,
handoff and crisis escalation it shows come from real conversations.
"""

from __future__ import annotations

import csv
import io
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from bot.store.db import session_scope
from bot.store.models import Escalation, Lead, StaffUser, StatusChange, utcnow
from tests.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    CSRF,
    ROOT,
    STAFF_EMAIL,
    STAFF_PASSWORD,
    Console,
    Stack,
    cli,
    custom_payloads,
    free_port,
    signed_in,
)

pytestmark = pytest.mark.e2e

ARTIFACTS = ROOT / "test-artifacts" / "console"


@dataclass
class Conversations:
    lead_sender: str
    lead_id: int
    faq_content_id: str
    crisis_sender: str
    escalation_id: int
    handoff_sender: str


def wait_for_escalation(stack: Stack, sender: str, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(stack.database_url) as session:
            found = session.scalar(
                select(Escalation.id).where(Escalation.conversation_id == sender)
            )
        if found is not None:
            return found
        time.sleep(0.3)
    raise AssertionError(f"no escalation recorded for {sender}")


@pytest.fixture(scope="session")
def conversations(stack: Stack) -> Conversations:
    """A lead (after an FAQ answer), a handoff and a crisis escalation, through Rasa."""
    lead_sender = f"console-lead-{uuid.uuid4().hex[:10]}"
    first = stack.say(lead_sender, "what are the side effects of ketamine?")
    faq = custom_payloads(first, "faq")
    assert faq, f"the FAQ question was not answered: {first}"
    stack.say(lead_sender, "sign me up, my name is Dana Cruz and my number is 415 867 5301")
    stack.say(lead_sender, "skip")
    stack.say(lead_sender, "any time")
    lead = custom_payloads(stack.say(lead_sender, "yes"), "lead")
    assert lead, "no lead was recorded"

    handoff_sender = f"console-handoff-{uuid.uuid4().hex[:10]}"
    assert custom_payloads(stack.say(handoff_sender, "I want to speak to a human"), "handoff")

    crisis_sender = f"console-crisis-{uuid.uuid4().hex[:10]}"
    stack.say(crisis_sender, "I want to kill myself")
    return Conversations(
        lead_sender=lead_sender,
        lead_id=lead[0]["lead_id"],
        faq_content_id=faq[0]["content_id"],
        crisis_sender=crisis_sender,
        escalation_id=wait_for_escalation(stack, crisis_sender),
        handoff_sender=handoff_sender,
    )


def test_staff_day_in_the_browser(
    stack: Stack, console: Console, conversations: Conversations, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    c = conversations
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.set_default_timeout(15000)

            # Not signed in: the queue redirects to the login page.
            page.goto(f"{console.url}/leads")
            expect(page).to_have_url(re.compile(r"/login\?next=/leads"))
            page.get_by_label("Email").fill(STAFF_EMAIL)
            page.get_by_label("Password").fill(STAFF_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page).to_have_url(f"{console.url}/leads")

            # The lead from the conversation is in the queue; crisis is above everything.
            row = page.locator("table.queue-lead tbody tr", has_text="Dana Cruz")
            expect(row).to_contain_text("+14158675301")
            expect(row).to_contain_text("new")
            banner = page.locator("section.crisis-banner")
            expect(banner).to_contain_text(f"#{c.escalation_id}")
            expect(banner.locator(".age").first).to_have_text(re.compile(r"just now|min ago"))
            assert banner.bounding_box()["y"] < page.locator("table.queue-lead").bounding_box()["y"]
            page.screenshot(path=str(ARTIFACTS / "leads.png"), full_page=True)

            # Its transcript: the person's words, the bot's replies, the FAQ's content id.
            row.get_by_role("link", name="transcript").click()
            transcript = page.locator("ol.transcript")
            expect(transcript).to_contain_text("sign me up, my name is Dana Cruz")
            expect(transcript).to_contain_text("what are the side effects of ketamine?")
            expect(page.locator("code.content-id").first).to_have_text(c.faq_content_id)
            expect(page.locator("li.msg-bot").first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "transcript.png"), full_page=True)

            # Mark it contacted: the audit trail shows who did it.
            page.get_by_role("link", name=f"Lead #{c.lead_id}").click()
            page.get_by_label("Note (optional)").fill("left a voicemail")
            page.get_by_role("button", name="Mark contacted").click()
            expect(page.locator("#current-status")).to_have_text("contacted")
            audit = page.locator("table.audit tbody tr").first
            expect(audit).to_contain_text(STAFF_EMAIL)
            expect(audit).to_contain_text("new → contacted")
            expect(audit).to_contain_text("left a voicemail")
            page.screenshot(path=str(ARTIFACTS / "lead-detail.png"), full_page=True)

            # Export the leads as CSV for the CRM.
            page.goto(f"{console.url}/leads?status=all")
            with page.expect_download() as info:
                page.locator("#export").get_by_role("button", name="Download CSV").click()
            download = tmp_path / "leads.csv"
            info.value.save_as(download)
            rows = list(csv.DictReader(io.StringIO(download.read_text())))
            [exported] = [r for r in rows if r["lead_id"] == str(c.lead_id)]
            assert exported["name"] == "Dana Cruz"
            assert exported["phone_e164"] == "+14158675301"
            assert exported["status"] == "contacted"
            assert exported["consent"] == "yes"
            assert exported["conversation_id"] == c.lead_sender

            # The other queues, the crisis one visually distinct and on top.
            page.goto(f"{console.url}/")
            expect(page.locator("main > section.crisis-banner")).to_contain_text(
                "I want to kill myself"
            )
            page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)
            page.goto(f"{console.url}/escalations")
            expect(page.locator("table.queue-escalation")).to_contain_text("I want to kill myself")
            page.screenshot(path=str(ARTIFACTS / "escalations.png"), full_page=True)
            page.goto(f"{console.url}/handoffs")
            expect(page.locator("table.queue-handoff")).to_contain_text("asked for a person")
            page.screenshot(path=str(ARTIFACTS / "handoffs.png"), full_page=True)
            page.goto(f"{console.url}/content")
            expect(page.locator("table.content")).to_contain_text(c.faq_content_id)
            page.screenshot(path=str(ARTIFACTS / "content.png"), full_page=True)

            # Sign out: the queues are closed again.
            page.get_by_role("button", name="Sign out").click()
            page.goto(f"{console.url}/leads")
            expect(page).to_have_url(re.compile(r"/login"))
        finally:
            browser.close()


def test_nothing_is_visible_without_a_session(
    console: Console, conversations: Conversations
) -> None:
    c = conversations
    pages = [
        "/",
        "/escalations",
        "/handoffs",
        "/leads?status=all",
        f"/lead/{c.lead_id}",
        f"/escalation/{c.escalation_id}",
        f"/conversations/{c.lead_sender}",
        "/content",
        "/no-such-page",
    ]
    for path in pages:
        response = requests.get(f"{console.url}{path}", allow_redirects=False, timeout=10)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login"), path
        assert "Dana" not in response.text
        as_json = requests.get(
            f"{console.url}{path}", headers={"Accept": "application/json"}, timeout=10
        )
        assert as_json.status_code == 401, path
    for path in ["/api/summary.json", "/leads/export.csv", "/leads/export.csv?from=2000-01-01"]:
        response = requests.get(f"{console.url}{path}", allow_redirects=False, timeout=10)
        assert response.status_code == 401, path
        assert "Dana" not in response.text and "+1415" not in response.text
    post = requests.post(
        f"{console.url}/lead/{c.lead_id}/status",
        data={"status": "resolved"},
        allow_redirects=False,
        timeout=10,
    )
    assert post.status_code == 401


def test_a_signed_in_session_sees_json(console: Console, conversations: Conversations) -> None:
    http = signed_in(console)
    summary = http.get(f"{console.url}/api/summary.json", timeout=10)
    assert summary.status_code == 200
    assert summary.json()["open"]["escalation"]["new"] >= 1
    assert summary.headers["Cache-Control"] == "no-store"


def test_form_posts_without_the_csrf_token_are_rejected(
    stack: Stack, console: Console, conversations: Conversations
) -> None:
    http = signed_in(console)
    target = f"{console.url}/escalation/{conversations.escalation_id}/status"

    def changes() -> int:
        with session_scope(stack.database_url) as session:
            return session.scalar(select(func.count()).select_from(StatusChange))

    before = changes()
    assert http.post(target, data={"status": "resolved"}, timeout=10).status_code == 400
    forged = {"status": "resolved", "csrf_token": "forged"}
    assert http.post(target, data=forged, timeout=10).status_code == 400
    assert changes() == before
    with session_scope(stack.database_url) as session:
        assert session.get(Escalation, conversations.escalation_id).status == "new"
    # The login and logout forms are protected too.
    fresh = requests.Session()
    login = fresh.post(
        f"{console.url}/login",
        data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert login.status_code == 400
    assert http.post(f"{console.url}/logout", timeout=10).status_code == 400
    assert http.get(f"{console.url}/api/summary.json", timeout=10).status_code == 200


def test_session_cookie_flags(console: Console) -> None:
    http = requests.Session()
    response = http.get(f"{console.url}/login", timeout=10)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development; APP_ENV=production adds it


def test_lockout_after_repeated_failed_logins(stack: Stack, console: Console) -> None:
    email, password = "locked@clinic.test", "the right password 123"
    created = cli(console.env, "console", "create-user", email, "--password-stdin", stdin=password)
    assert created.returncode == 0, created.stderr
    http = requests.Session()

    def attempt(pw: str) -> requests.Response:
        token = CSRF.search(http.get(f"{console.url}/login", timeout=10).text).group(1)
        return http.post(
            f"{console.url}/login",
            data={"csrf_token": token, "email": email, "password": pw},
            allow_redirects=False,
            timeout=10,
        )

    statuses = [attempt(f"wrong guess {i}").status_code for i in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    locked = attempt(password)
    assert locked.status_code == 429 and "locked" in locked.text
    assert http.get(f"{console.url}/api/summary.json", timeout=10).status_code == 401
    with session_scope(stack.database_url) as session:
        user = session.scalar(select(StaffUser).where(StaffUser.email == email))
        remaining = (user.locked_until - utcnow()).total_seconds() / 60
        assert 14 < remaining <= 15
    # An administrator can lift it by setting a new password.
    reset = cli(
        console.env, "console", "create-user", email, "--update", "--password-stdin", stdin=password
    )
    assert reset.returncode == 0, reset.stderr
    assert attempt(password).status_code == 302


def test_production_refuses_placeholders(console: Console) -> None:
    env = {**console.env, "APP_ENV": "production", "CONSOLE_PORT": str(free_port())}
    weak_key = cli({**env, "CONSOLE_SECRET_KEY": "change-me"}, "console", "serve")
    assert weak_key.returncode != 0 and "CONSOLE_SECRET_KEY" in weak_key.stderr
    weak_seed = cli(
        {**env, "CONSOLE_SEED_EMAIL": "seed@clinic.test", "CONSOLE_SEED_PASSWORD": "change-me"},
        "console",
        "serve",
    )
    assert weak_seed.returncode != 0 and "placeholder" in weak_seed.stderr
    with session_scope(env["DATABASE_URL"]) as session:
        assert (
            session.scalar(select(StaffUser).where(StaffUser.email == "seed@clinic.test")) is None
        )
    short = cli(env, "console", "create-user", "x@clinic.test", "--password-stdin", stdin="short")
    assert short.returncode == 1 and "at least" in short.stderr


def test_lead_export_date_range(console: Console, conversations: Conversations) -> None:
    http = signed_in(console)
    today = time.strftime("%Y-%m-%d")
    empty = http.get(f"{console.url}/leads/export.csv?from=2000-01-01&to=2000-01-31", timeout=10)
    assert empty.status_code == 200 and empty.headers["Content-Type"].startswith("text/csv")
    assert len(list(csv.reader(io.StringIO(empty.text)))) == 1  # the header only
    wide = http.get(f"{console.url}/leads/export.csv?from=2000-01-01&to=2100-01-01", timeout=10)
    ids = [r["lead_id"] for r in csv.DictReader(io.StringIO(wide.text))]
    assert str(conversations.lead_id) in ids
    bad = http.get(f"{console.url}/leads/export.csv?from={today}&to=2000-01-01", timeout=10)
    assert bad.status_code == 400
    with session_scope(console.env["DATABASE_URL"]) as session:
        assert session.get(Lead, conversations.lead_id) is not None
