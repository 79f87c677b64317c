"""Staff take a conversation over and talk with the person: REST, SMS and the widget.

The real stack (Rasa with its HTTP API, action server, outbox worker, fake
Twilio) plus the real staff console (`python -m bot console serve`, the
`console` fixture), which pauses and resumes conversations through Rasa's
HTTP API; its staff account's first name is Dana. The console is
driven over HTTP with its CSRF-protected forms, and in Chromium: two pages,
the patient's widget and the staff console, exchange messages both ways.
Screenshots go to test-artifacts/takeover/.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from bot.store.db import session_scope
from bot.store.models import Escalation, StaffMessage
from tests.conftest import (
    API_TOKEN,
    CSRF,
    ROOT,
    STAFF_EMAIL,
    STAFF_FIRST_NAME,
    STAFF_PASSWORD,
    Console,
    Stack,
    custom_payloads,
    signed_in,
    start_early_in_rate_window,
)
from tests.test_sms_channel import form, hashed, new_number, post, text, tracker_texts
from tests.test_widget_browser import new_widget

pytestmark = pytest.mark.e2e

ARTIFACTS = ROOT / "test-artifacts" / "takeover"
CRISIS = "I have the pills in front of me and I want to die tonight"
CLINIC = "Test Valley Ketamine Clinic"
QUESTION = "how much does a ketamine infusion cost"


def until(check: Callable[[], Any], timeout: float = 30.0, every: float = 0.2) -> Any:
    """Poll `check` until it returns something truthy (then return it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s")


@dataclass
class Staff:
    """The shared console (tests/conftest.py), signed in over HTTP."""

    url: str
    http: requests.Session

    def csrf(self, path: str) -> str:
        page = self.http.get(f"{self.url}{path}", timeout=30)
        page.raise_for_status()
        match = CSRF.search(page.text)
        assert match, "no CSRF token on the page"
        return match.group(1)

    def act(self, conversation_id: str, action: str, **fields: str) -> str:
        """POST a takeover form; the flash messages of the page it leads to."""
        path = f"/conversations/{conversation_id}"
        token = self.csrf(path)
        response = self.http.post(
            f"{self.url}{path}/{action}", data={"csrf_token": token, **fields}, timeout=60
        )
        response.raise_for_status()
        return " ".join(re.findall(r'class="flash[^"]*" role="status">([^<]+)<', response.text))

    def live(self, conversation_id: str, after: int = 0) -> dict:
        response = self.http.get(
            f"{self.url}/api/conversations/{conversation_id}.json",
            params={"after": after},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="module")
def staff(console: Console) -> Staff:
    return Staff(url=console.url, http=signed_in(console))


def rest_updates(stack: Stack, sender: str, after: int = 0) -> dict:
    response = requests.get(
        f"{stack.rasa_url}/webhooks/rest/updates",
        params={"sender": sender, "after": after},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()


# --- REST ------------------------------------------------------------------------


def test_rest_takeover_reply_and_hand_back(stack: Stack, staff: Staff) -> None:
    sender = f"takeover-{uuid.uuid4().hex[:10]}"
    assert custom_payloads(stack.say(sender, QUESTION), "faq"), "the bot answers before"
    assert rest_updates(stack, sender) == {"messages": [], "cursor": 0, "with_staff": None}

    flashed = staff.act(sender, "takeover")
    assert "You hold this conversation" in flashed
    joined = rest_updates(stack, sender)
    assert joined["with_staff"] == STAFF_FIRST_NAME
    assert [m["custom"] for m in joined["messages"]] == [
        {"type": "staff", "staff_name": STAFF_FIRST_NAME, "notice": "joined"}
    ]

    # The assistant is silent: the person's message gets only a receipt.
    held = stack.say(sender, "do you take aetna insurance")
    assert custom_payloads(held, "with_staff") == [
        {"type": "with_staff", "staff_name": STAFF_FIRST_NAME}
    ]
    assert not custom_payloads(held, "faq")
    live = staff.live(sender)
    assert live["held_by"] == STAFF_FIRST_NAME and live["held_by_me"] is True
    assert "do you take aetna insurance" in [line["text"] for line in live["lines"]]

    staff.act(sender, "reply", text="Hi, this is Dana. Yes, we are in network with Aetna.")
    update = rest_updates(stack, sender, after=joined["cursor"])
    assert [(m["text"], m["custom"]) for m in update["messages"]] == [
        (
            "Hi, this is Dana. Yes, we are in network with Aetna.",
            {"type": "staff", "staff_name": STAFF_FIRST_NAME},
        )
    ]
    lines = staff.live(sender)["lines"]
    assert lines[-1]["speaker"] == "staff" and lines[-1]["who"] == "Clinic staff · Dana"

    # An empty or too long message is refused and nothing reaches the person.
    assert "Write a message" in staff.act(sender, "reply", text="   ")
    assert "Write a message" in staff.act(sender, "reply", text="x" * 1001)
    assert rest_updates(stack, sender, after=update["cursor"])["messages"] == []

    assert "Handed back" in staff.act(sender, "handback")
    back = rest_updates(stack, sender, after=update["cursor"])
    assert back["with_staff"] is None
    assert back["messages"][0]["custom"]["notice"] == "handed_back"
    # The assistant answers again, with vetted content.
    assert custom_payloads(stack.say(sender, QUESTION), "faq")


def test_crisis_during_a_takeover_is_answered_at_once(stack: Stack, staff: Staff) -> None:
    sender = f"takeover-{uuid.uuid4().hex[:10]}"
    stack.say(sender, "hi")
    staff.act(sender, "takeover")
    reply = stack.say(sender, CRISIS)
    crisis = custom_payloads(reply, "crisis")
    assert crisis and crisis[0].get("escalation_id"), reply
    assert "988" in reply[0]["text"]
    with session_scope(stack.database_url) as session:
        escalation = session.get(Escalation, crisis[0]["escalation_id"])
        assert escalation is not None and escalation.conversation_id == sender
    # Staff see it in the conversation, and they still hold it.
    live = staff.live(sender)
    assert any(line["kind"] == "crisis" for line in live["lines"])
    assert live["held_by"] == STAFF_FIRST_NAME
    assert custom_payloads(stack.say(sender, "ok"), "with_staff")


def test_the_hold_is_in_the_tracker_where_every_replica_reads_it(
    stack: Stack, staff: Staff
) -> None:
    """Pause and resume are Rasa's own events in the shared tracker store."""
    sender = f"takeover-{uuid.uuid4().hex[:10]}"
    stack.say(sender, "hello")
    staff.act(sender, "takeover")

    def events() -> list[dict]:
        response = requests.get(
            f"{stack.rasa_url}/conversations/{sender}/tracker",
            params={"token": API_TOKEN},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["events"]

    pause = [e for e in events() if e["event"] == "pause"]
    assert pause and pause[-1]["metadata"]["staff_email"] == STAFF_EMAIL
    assert pause[-1]["metadata"]["staff_name"] == STAFF_FIRST_NAME
    staff.act(sender, "handback")
    assert events()[-2]["event"] == "resume"


# --- SMS -----------------------------------------------------------------------------


def test_sms_takeover_both_ways_and_stop(stack: Stack, staff: Staff) -> None:
    assert stack.twilio is not None
    number = new_number()
    cid = hashed(number)
    assert text(stack, number, QUESTION)
    staff.act(cid, "takeover")
    joined = until(lambda: [body for body in stack.twilio.to(number) if "has joined" in body])
    assert "Dana" in joined[0] and "reply by text" in joined[0]

    # The person's text reaches the console; the assistant sends nothing back.
    before = len(stack.twilio.to(number))
    assert post(stack, form(number, "is it covered by blue cross?")).status_code == 200
    until(lambda: "is it covered by blue cross?" in tracker_texts(stack, number))
    until(lambda: any("blue cross" in line["text"] for line in staff.live(cid)["lines"]))
    time.sleep(1.0)
    assert len(stack.twilio.to(number)) == before

    flashed = staff.act(cid, "reply", text="Hi, Dana here. We can check that for you.")
    assert "Sent by SMS" in flashed
    received = until(lambda: stack.twilio.to(number)[before:])
    assert received == [
        "Dana (Test Valley Ketamine Clinic): Hi, Dana here. We can check that for you."
    ]

    # A crisis text is answered at once, held or not.
    crisis = text(stack, number, CRISIS)
    assert "988" in crisis[0]

    # STOP: staff messages are no longer sent.
    text(stack, number, "STOP")
    sent = len(stack.twilio.to(number))
    assert "texted STOP" in staff.act(cid, "reply", text="Are you still there?")
    time.sleep(1.0)
    assert len(stack.twilio.to(number)) == sent
    with session_scope(stack.database_url) as session:
        kinds = session.scalars(
            select(StaffMessage.kind).where(StaffMessage.conversation_id == cid)
        ).all()
    assert kinds == ["joined", "staff", "staff"]


# --- Two browser pages -----------------------------------------------------------------


def sign_in(page: Page, console: Console, path: str) -> None:
    page.goto(f"{console.url}{path}")
    page.get_by_label("Email").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{console.url}{path}")


def test_widget_and_console_talk_both_ways(
    browser: Browser, stack: Stack, console: Console
) -> None:  # noqa: F811
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    patient = new_widget(browser, stack, viewport={"width": 1280, "height": 800})
    staff_context = browser.new_context(viewport={"width": 1280, "height": 900})
    staff_context.set_default_timeout(15_000)
    staff = staff_context.new_page()
    try:
        patient.open()
        patient.ask("can I talk to a real person")
        cid = patient.conversation_id()
        sign_in(staff, console, f"/conversations/{cid}")
        staff.get_by_role("button", name="Reply").click()
        expect(staff.locator("#hold-state")).to_contain_text("You hold this conversation")

        log = patient.page.locator(".kcw-log")
        expect(log.locator(".kcw-event")).to_contain_text("Dana from Test Valley", timeout=20_000)

        # Staff → patient, timed from the click to the bubble in the widget.
        staff.get_by_label("Message to the person").fill(
            "Hi! I'm Dana at the front desk. How can I help?"
        )
        started = time.monotonic()
        staff.get_by_role("button", name="Send", exact=True).click()
        bubble = log.locator(".kcw-staff").last
        expect(bubble).to_contain_text("Clinic staff · Dana", timeout=20_000)
        expect(bubble).to_contain_text("How can I help?")
        print(f"\nstaff message shown in the widget after {time.monotonic() - started:.1f} s")
        expect(bubble.locator("time")).to_have_text(re.compile(r"\d{1,2}:\d{2}"))

        # The inbox shows who holds the handoff's conversation.
        staff.goto(f"{console.url}/inbox?q={cid}")
        expect(staff.locator("table.inbox .badge.held")).to_have_text("with Dana")
        staff.goto(f"{console.url}/conversations/{cid}")

        # Patient → staff: a receipt in the widget, the message live in the console.
        patient.input.fill("I'd like to book for next Tuesday")
        patient.input.press("Enter")
        expect(log.locator(".kcw-receipt").last).to_contain_text("Sent to Dana")
        expect(staff.locator("ol.transcript")).to_contain_text(
            "I'd like to book for next Tuesday", timeout=20_000
        )
        patient.page.screenshot(path=str(ARTIFACTS / "widget-with-staff.png"))
        staff.screenshot(path=str(ARTIFACTS / "console-reply.png"), full_page=True)

        # The widget is closed: a staff message puts a count on the launcher.
        patient.page.get_by_role("button", name="Close chat").click()
        staff.get_by_label("Message to the person").fill("Tuesday at 10 works. See you then!")
        staff.get_by_role("button", name="Send", exact=True).click()
        launcher = patient.page.locator(".kcw-launcher")
        expect(launcher.locator(".kcw-badge")).to_have_text("1", timeout=20_000)
        expect(launcher).to_have_attribute("aria-label", re.compile("1 new message"))
        patient.page.screenshot(path=str(ARTIFACTS / "widget-unread-badge.png"))
        patient.open()
        expect(launcher.locator(".kcw-badge")).to_be_hidden()

        # A crisis message while staff hold the conversation: answered at once.
        patient.input.fill(CRISIS)
        patient.input.press("Enter")
        crisis = log.locator(".kcw-crisis").last
        expect(crisis).to_contain_text("988", timeout=60_000)
        expect(staff.locator("ol.transcript .msg-crisis")).to_have_count(1, timeout=20_000)

        # Hand back: a note in the widget, and the assistant answers again.
        staff.reload()
        staff.get_by_role("button", name="Hand back to the assistant").click()
        expect(log.locator(".kcw-event").last).to_contain_text("handed you back", timeout=20_000)
        patient.ask(QUESTION)
        expect(log.locator(".kcw-bot").last.locator(".kcw-meta")).to_contain_text("Source")
        patient.page.screenshot(path=str(ARTIFACTS / "widget-handed-back.png"))
        staff.screenshot(path=str(ARTIFACTS / "console-handed-back.png"), full_page=True)
        assert not patient.dialogs
    finally:
        patient.page.context.close()
        staff_context.close()


def test_polling_endpoints_reject_bad_input(stack: Stack) -> None:
    for path, params in (
        ("/webhooks/widget/updates", {"sender": "x", "after": "0"}),
        ("/webhooks/widget/updates", {"sender": uuid.uuid4().hex, "after": "-1"}),
        ("/webhooks/rest/updates", {"sender": "", "after": "0"}),
        ("/webhooks/rest/updates", {"sender": "someone", "after": "abc"}),
    ):
        response = requests.get(f"{stack.rasa_url}{path}", params=params, timeout=30)
        assert response.status_code == 400, (path, params, response.text)
        assert "error" in response.json()


def test_an_unknown_conversation_cannot_be_taken_over(staff: Staff) -> None:
    token = staff.csrf("/inbox")
    response = staff.http.post(
        f"{staff.url}/conversations/no-such-conversation-{uuid.uuid4().hex[:6]}/takeover",
        data={"csrf_token": token},
        timeout=30,
    )
    assert response.status_code == 404


def test_polling_is_rate_limited_per_sender(stack: Stack) -> None:
    """POLLS_PER_MESSAGE x RATE_LIMIT_MESSAGES polls a window; one sender's flood
    does not limit another."""
    from bot.channels.guard import POLLS_PER_MESSAGE
    from bot.config import load_settings

    limit = POLLS_PER_MESSAGE * load_settings().rate_limit_messages
    flooder, other = f"poll-{uuid.uuid4().hex[:10]}", f"poll-{uuid.uuid4().hex[:10]}"
    http = requests.Session()
    start_early_in_rate_window(stack, 20.0)
    statuses = [
        http.get(
            f"{stack.rasa_url}/webhooks/rest/updates", params={"sender": flooder}, timeout=30
        ).status_code
        for _ in range(limit + 5)
    ]
    assert 429 in statuses[limit - 5 :], statuses[-10:]
    assert statuses[0] == 200
    assert rest_updates(stack, other)["messages"] == []
