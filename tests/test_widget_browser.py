"""The website widget in a real browser (Debian's Chromium, headless) against the real servers.

Also the widget channel's HTTP contract (CORS, bad input) with plain `requests`,
and the widget's size budget. The only fake is `page.route` aborting requests to
simulate an unreachable server. Screenshots go to `test-artifacts/widget/`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from bot.channels.widget import WIDGET_DIR
from bot.config import load_settings
from bot.store.db import session_scope
from bot.store.models import AnswerServed
from tests.conftest import ROOT, Stack

pytestmark = pytest.mark.e2e

ARTIFACTS = ROOT / "test-artifacts" / "widget"
REPLY_TIMEOUT_MS = 60_000
FAQ_QUESTION = "what are the side effects of ketamine treatment"
CRISIS_MESSAGE = "I want to kill myself"
XSS = "<img src=x onerror=alert(1)>"
# Messages the bot answers with buttons (the fallback / handoff offers).
BUTTON_CANDIDATES = ["asdf qwer zxcv", "zxqv blorp wuggle frandish", "can I talk to a person"]
SIZE_BUDGET_BYTES = 30_000


@dataclass
class Widget:
    """A demo page with the widget, plus every JS dialog it opened (must stay empty)."""

    page: Page
    url: str
    dialogs: list[str] = field(default_factory=list)

    @property
    def log(self):  # type: ignore[no-untyped-def]
        return self.page.locator(".kcw-log")

    @property
    def input(self):  # type: ignore[no-untyped-def]
        return self.page.get_by_label("Type your question")

    def open(self) -> None:
        self.page.get_by_role("button", name=re.compile("Open chat")).click()
        expect(self.page.get_by_role("dialog")).to_be_visible()

    def bot_count(self) -> int:
        return self.log.locator(".kcw-bot").count()

    def wait_for_reply(self, before: int) -> None:
        """Until a new bot message is in the log and the widget is idle again."""
        self.page.wait_for_function(
            """n => document.querySelectorAll('.kcw-log .kcw-bot').length > n
                   && !document.querySelector('.kcw-send').disabled""",
            arg=before,
            timeout=REPLY_TIMEOUT_MS,
        )

    def ask(self, text: str) -> None:
        before = self.bot_count()
        self.input.fill(text)
        self.input.press("Enter")
        self.wait_for_reply(before)

    def conversation_id(self) -> str:
        stored = self.page.evaluate(
            "k => localStorage.getItem(k)", f"clinicChat:{self.url.split('/webhooks')[0]}"
        )
        return json.loads(stored)["id"]

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


def new_widget(browser: Browser, stack: Stack, **context_options: object) -> Widget:
    context = browser.new_context(**context_options)  # fresh storage: a new visitor
    context.set_default_timeout(15_000)
    page = context.new_page()
    widget = Widget(page=page, url=f"{stack.rasa_url}/webhooks/widget/demo")
    page.on("dialog", lambda dialog: (widget.dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(widget.url)
    return widget


@pytest.fixture
def widget(browser: Browser, stack: Stack) -> Iterator[Widget]:
    w = new_widget(browser, stack, viewport={"width": 1280, "height": 800})
    yield w
    w.page.context.close()


def test_faq_answer_shows_source_and_review_date_and_survives_reload(
    widget: Widget, stack: Stack
) -> None:
    widget.open()
    widget.ask(FAQ_QUESTION)
    meta = widget.log.locator(".kcw-meta").last
    expect(meta).to_contain_text("Source")
    expect(meta).to_contain_text(re.compile(r"Reviewed \d{4}-\d{2}-\d{2}"))
    expect(widget.log).to_contain_text("dissociation")
    expect(widget.log.locator("li").first).to_be_visible()  # "- " bullets became a list
    expect(widget.page.locator(".kcw-notice")).to_contain_text(
        "In an emergency call 911. In crisis, call or text 988."
    )
    widget.shot("desktop-faq-answer")
    sender = widget.conversation_id()

    widget.page.reload()  # same browser: the conversation and its history continue
    expect(widget.log).to_contain_text(FAQ_QUESTION)
    expect(widget.log.locator(".kcw-meta").last).to_contain_text("Reviewed")
    assert widget.conversation_id() == sender

    other = widget.page.context.new_page()  # another page of the same site
    other.goto(widget.url + "?page=two")
    expect(other.locator(".kcw-log")).to_contain_text(FAQ_QUESTION)
    other.close()

    with session_scope(stack.database_url) as session:
        served = session.scalars(
            select(AnswerServed).where(AnswerServed.conversation_id == sender)
        ).all()
    assert [row.channel for row in served] == ["widget"]  # the web variant of the answer


@pytest.mark.parametrize(
    ("device", "options"),
    [
        ("desktop", {"viewport": {"width": 1280, "height": 800}}),
        (
            "phone",
            {
                "viewport": {"width": 375, "height": 667},
                "is_mobile": True,
                "has_touch": True,
                "device_scale_factor": 2,
            },
        ),
    ],
)
def test_faq_answer_is_one_bubble(
    browser: Browser, stack: Stack, device: str, options: dict
) -> None:
    """One answer, one message: paragraphs and bullets in one bubble, one short disclaimer."""
    widget = new_widget(browser, stack, **options)
    try:
        widget.open()
        widget.ask(FAQ_QUESTION)
        bubbles = widget.log.locator(".kcw-bot")
        expect(bubbles).to_have_count(2)  # the session notice, then the whole answer
        answer = bubbles.last
        expect(answer.locator("p")).not_to_have_count(0)
        expect(answer.locator("li").first).to_be_visible()
        expect(answer.locator(".kcw-fine")).to_have_count(1)
        expect(answer.locator(".kcw-fine")).to_contain_text("not medical advice")
        expect(answer.locator(".kcw-meta")).to_contain_text("Reviewed")
        text = widget.log.inner_text().lower()
        # the notice once (session start) and the answer's one line: no third copy
        assert text.count("not medical advice") == 2, text
        assert widget.log.locator(".kcw-sr", has_text="Assistant:").count() == 2
        widget.shot(f"faq-answer-{device}")
        answer.evaluate(
            "e => e.scrollIntoView({block: 'end'})"
        )  # its end: one-line limits, sources
        widget.shot(f"faq-answer-{device}-end")
    finally:
        widget.page.context.close()


def pick_message_with_buttons(stack: Stack) -> str:
    """The bot's fallback buttons depend on the trained model; use a message that has them."""
    for message in BUTTON_CANDIDATES:
        reply = stack.say(f"probe-{uuid.uuid4().hex[:12]}", message)
        if any(m.get("buttons") for m in reply):
            return message
    pytest.fail(f"none of {BUTTON_CANDIDATES} gets buttons from the bot")


def test_buttons_send_their_payload_and_show_their_title(widget: Widget, stack: Stack) -> None:
    message = pick_message_with_buttons(stack)
    widget.open()
    widget.ask(message)
    choice = widget.log.locator(".kcw-choice").first
    expect(choice).to_be_enabled()
    title = choice.inner_text()
    before = widget.bot_count()
    choice.click()
    widget.wait_for_reply(before)
    user_bubbles = widget.log.locator(".kcw-user")
    expect(user_bubbles.last).to_contain_text(title)
    assert "/" not in user_bubbles.last.inner_text().replace("You said:", "")  # not the payload
    expect(widget.log.locator(".kcw-choice").first).to_be_disabled()  # old choices are spent


def test_crisis_reply_stands_out_with_tappable_988(widget: Widget) -> None:
    widget.open()
    widget.ask(CRISIS_MESSAGE)
    crisis = widget.log.locator(".kcw-crisis")
    expect(crisis).to_have_count(1)
    expect(crisis).to_have_attribute("role", "alert")
    expect(crisis).to_contain_text("text HOME to 741741")
    for href in ("tel:988", "sms:988", "tel:911"):
        expect(crisis.locator(f"a[href='{href}']").first).to_be_visible()
    widget.shot("desktop-crisis")


def test_html_in_a_message_is_shown_as_text_and_runs_nothing(widget: Widget) -> None:
    widget.open()
    widget.ask(XSS)
    expect(widget.log.locator(".kcw-user").last).to_contain_text(XSS)
    assert widget.log.locator("img").count() == 0
    widget.page.wait_for_timeout(500)
    assert widget.dialogs == []


def test_history_is_rendered_with_only_the_safe_subset(widget: Widget) -> None:
    """History comes back from localStorage; the same renderer must not trust it."""
    key = f"clinicChat:{widget.url.split('/webhooks')[0]}"
    text = (
        "Intro <b>bold</b> <img src=x onerror=alert(2)>\n\n"
        "- first [clinic site](https://clinic.example.org/about)\n"
        "- second [bad](javascript:alert(3))\n\n"
        "Call 988 today."
    )
    state = {
        "id": str(uuid.uuid4()),
        "open": True,
        "items": [{"from": "bot", "text": text, "meta": {"sources": ["<i>x</i>"]}}],
    }
    widget.page.evaluate("([k, v]) => localStorage.setItem(k, v)", [key, json.dumps(state)])
    widget.page.reload()
    log = widget.log
    expect(log).to_contain_text("<img src=x onerror=alert(2)>")
    expect(log).to_contain_text("Source: <i>x</i>")
    assert log.locator("img, b, i, script").count() == 0
    assert log.locator("li").count() == 2
    good = log.locator("a[href='https://clinic.example.org/about']")
    expect(good).to_have_attribute("rel", "noopener noreferrer")
    expect(good).to_have_attribute("target", "_blank")
    assert log.locator("a[href^='javascript']").count() == 0
    expect(log).to_contain_text("[bad](javascript:alert(3))")
    expect(log.locator("a[href='tel:988']")).to_have_count(1)
    widget.page.wait_for_timeout(300)
    assert widget.dialogs == []


def test_unreachable_server_shows_an_error_and_keeps_the_text(widget: Widget) -> None:
    widget.open()
    widget.page.route("**/webhooks/widget/webhook", lambda route: route.abort())
    typed = "how long does a ketamine infusion take"
    widget.input.fill(typed)
    widget.input.press("Enter")
    error = widget.page.locator(".kcw-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("couldn't reach the assistant")
    expect(widget.input).to_have_value(typed)
    expect(widget.log.locator(".kcw-user")).to_have_count(0)  # nothing pretends it was sent
    widget.shot("desktop-server-unreachable")

    widget.page.unroute("**/webhooks/widget/webhook")
    before = widget.bot_count()
    widget.page.get_by_role("button", name="Retry").click()
    widget.wait_for_reply(before)
    expect(error).to_be_hidden()
    expect(widget.log.locator(".kcw-user").last).to_contain_text(typed)
    expect(widget.input).to_have_value("")


def test_keyboard_only(widget: Widget, stack: Stack) -> None:
    page = widget.page
    message = pick_message_with_buttons(stack)
    launcher = page.locator(".kcw-launcher")
    page.keyboard.press("Tab")
    expect(launcher).to_be_focused()
    page.keyboard.press("Enter")
    expect(widget.input).to_be_focused()  # focus moved into the panel
    expect(launcher).to_have_attribute("aria-expanded", "true")

    before = widget.bot_count()
    page.keyboard.type(message)
    page.keyboard.press("Enter")
    widget.wait_for_reply(before)

    for _ in range(8):  # back from the input into the log's reply buttons
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.classList.contains('kcw-choice')"):
            break
    title = page.evaluate("document.activeElement.textContent")
    assert page.evaluate("document.activeElement.classList.contains('kcw-choice')")
    before = widget.bot_count()
    page.keyboard.press("Enter")
    widget.wait_for_reply(before)
    expect(widget.log.locator(".kcw-user").last).to_contain_text(title)

    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(launcher).to_be_focused()
    page.keyboard.press("Space")
    expect(widget.input).to_be_focused()

    log = page.locator("[role=log]")
    expect(log).to_have_attribute("aria-live", "polite")
    for control in page.locator(".kcw-root button, .kcw-root textarea").all():
        name = control.get_attribute("aria-label") or control.inner_text().strip()
        if control.evaluate("e => e.tagName") == "TEXTAREA":
            name = page.locator("label[for=kcw-input]").inner_text()
        assert name, control.evaluate("e => e.outerHTML")


def test_phone_sized_screen(browser: Browser, stack: Stack) -> None:
    widget = new_widget(
        browser,
        stack,
        viewport={"width": 375, "height": 667},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    try:
        widget.open()
        widget.ask(FAQ_QUESTION)
        page = widget.page
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        box = page.get_by_role("dialog").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
        for locator in (widget.input, page.locator(".kcw-send"), page.locator(".kcw-close")):
            expect(locator).to_be_in_viewport()
        expect(page.locator(".kcw-notice")).to_be_in_viewport()
        widget.shot("mobile-375x667")
    finally:
        widget.page.context.close()


# ---- the channel over plain HTTP --------------------------------------------


@pytest.fixture
def allowed_origin(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> str:
    """The first origin the running server allows (its environment, `.env`, or default)."""
    for name, value in stack.env.items():
        monkeypatch.setenv(name, value)
    origins = load_settings().web_allowed_origins
    assert origins, "WEB_ALLOWED_ORIGINS is empty"
    return origins[0]


def post(stack: Stack, body: bytes | str, **headers: str) -> requests.Response:
    return requests.post(
        f"{stack.rasa_url}/webhooks/widget/webhook", data=body, headers=headers, timeout=60
    )


def assert_json_error(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == code
    assert "Traceback" not in response.text and 'File "' not in response.text


def test_channel_cors(stack: Stack, allowed_origin: str) -> None:
    url = f"{stack.rasa_url}/webhooks/widget/webhook"
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    ok = requests.options(url, headers={"Origin": allowed_origin, **preflight}, timeout=10)
    assert ok.status_code == 204
    assert ok.headers["Access-Control-Allow-Origin"] == allowed_origin
    assert "POST" in ok.headers["Access-Control-Allow-Methods"]
    assert "content-type" in ok.headers["Access-Control-Allow-Headers"].lower()

    evil = "https://evil.example"
    refused = requests.options(url, headers={"Origin": evil, **preflight}, timeout=10)
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused.headers

    body = json.dumps({"sender": uuid.uuid4().hex, "message": "hello"})
    allowed = post(stack, body, Origin=allowed_origin, **{"Content-Type": "application/json"})
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == allowed_origin
    assert any("text" in m for m in allowed.json())

    same_origin = post(stack, body, Origin=stack.rasa_url)  # the demo page itself
    assert same_origin.status_code == 200

    blocked = post(stack, body, Origin=evil)
    assert_json_error(blocked, 403, "origin_not_allowed")
    assert "Access-Control-Allow-Origin" not in blocked.headers


def test_channel_rejects_bad_input_without_internals(stack: Stack, allowed_origin: str) -> None:
    sender = uuid.uuid4().hex
    assert_json_error(post(stack, "{not json", Origin=allowed_origin), 400, "invalid_json")
    assert_json_error(post(stack, b"\xff\xfe", Origin=allowed_origin), 400, "invalid_json")
    assert_json_error(post(stack, "[1, 2]"), 400, "invalid_request")
    assert_json_error(post(stack, json.dumps({"sender": sender})), 400, "missing_message")
    assert_json_error(
        post(stack, json.dumps({"sender": sender, "message": "   "})), 400, "missing_message"
    )
    assert_json_error(post(stack, json.dumps({"message": "hi"})), 400, "invalid_sender")
    assert_json_error(
        post(stack, json.dumps({"sender": "../../etc", "message": "hi"})), 400, "invalid_sender"
    )
    long = post(stack, json.dumps({"sender": sender, "message": "a" * 5000}))
    assert long.status_code == 200  # cut, answered, and the person is told so
    assert "read only its first 2,000 characters" in long.json()[-1]["text"]
    assert_json_error(post(stack, "x" * (2 * 1024 * 1024 + 1)), 413, "request_too_large")


def test_channel_name_cannot_be_spoofed(stack: Stack) -> None:
    """FAQ answers pick the SMS variant by channel: a browser must not choose it."""
    sender = uuid.uuid4().hex
    body = {"sender": sender, "message": FAQ_QUESTION, "input_channel": "twilio_sms"}
    reply = post(stack, json.dumps(body))
    assert reply.status_code == 200
    with session_scope(stack.database_url) as session:
        channels = session.scalars(
            select(AnswerServed.channel).where(AnswerServed.conversation_id == sender)
        ).all()
    assert channels == ["widget"]


def test_widget_files_are_served(stack: Stack) -> None:
    base = f"{stack.rasa_url}/webhooks/widget"
    for name, kind in (("widget.js", "javascript"), ("widget.css", "text/css")):
        response = requests.get(f"{base}/{name}", timeout=10)
        assert response.status_code == 200 and kind in response.headers["content-type"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    demo = requests.get(f"{base}/demo", timeout=10)
    assert f'<script src="{stack.rasa_url}/webhooks/widget/widget.js"' in demo.text
    assert f'data-server="{stack.rasa_url}" defer></script>' in demo.text


def test_widget_size_budget_and_no_html_injection_apis() -> None:
    js = (WIDGET_DIR / "widget.js").read_text(encoding="utf-8")
    css = (WIDGET_DIR / "widget.css").read_text(encoding="utf-8")
    size = len(js.encode()) + len(css.encode())
    assert size < SIZE_BUDGET_BYTES, f"widget is {size} bytes"
    for api in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert api not in js, api
    external = re.findall(r"https?://(?!bot\.example\.org)[\w-]+\.[\w.-]+", js + css)
    assert not external, f"widget must not load external resources: {external}"
