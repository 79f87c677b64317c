"""The console's inbox in a real browser (Playwright + Debian's Chromium).

`python -m bot console serve` (waitress) on its own SQLite database holding
several hundred open items created by the test (no Rasa needed): search,
assignment, pagination, the crisis banner's counts, a note without a status
change, the count in the tab title and the browser notification, the phone
layout. Screenshots go to test-artifacts/console/.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from bot.console.accounts import create_user
from bot.store.db import init_db, session_scope
from bot.store.models import Escalation, Handoff, Lead
from tests.conftest import ROOT, free_port, serving_console
from tests.test_console_inbox import EMAIL, PASSWORD, Seeded, seed_inbox

ARTIFACTS = ROOT / "test-artifacts" / "console"
# Replaces the browser's Notification with one that records what the page raised.
RECORD_NOTIFICATIONS = """
window.__notifications = [];
window.Notification = class {
  constructor(title, options) { window.__notifications.push({title, body: (options || {}).body}); }
  static requestPermission() { return Promise.resolve("granted"); }
};
window.Notification.permission = "granted";
"""


@dataclass
class Served:
    url: str
    database_url: str
    seeded: Seeded


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path_factory.mktemp("inbox")
    database_url = f"sqlite:///{tmp / 'console.db'}"
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "APP_ENV": "development",
        "CONSOLE_PORT": str(port),
        "CONSOLE_SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
        "CONSOLE_SEED_EMAIL": "",
        "CONSOLE_SEED_PASSWORD": "",
        "CLINIC_NAME": "Test Valley Ketamine Clinic",
        "PYTHONPATH": str(ROOT),
    }
    init_db(database_url)
    loaded = subprocess.run(
        [sys.executable, "-m", "bot", "content", "load"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert loaded.returncode == 0, loaded.stderr
    create_user(database_url, EMAIL, PASSWORD)
    seeded = seed_inbox(database_url)
    with serving_console(env, tmp / "console.log") as url:
        yield Served(url=url, database_url=database_url, seeded=seeded)


def sign_in(page, served: Served, path: str = "/inbox") -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto(f"{served.url}{path}")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{served.url}{path}")
    # The URL changes as soon as the page commits; layout checks need its stylesheet.
    page.wait_for_load_state("load")


def shown_ids(page) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    rows = page.locator("table.inbox tr.inbox-item")
    return [(r.get_attribute("data-kind"), int(r.get_attribute("data-id"))) for r in rows.all()]


def test_inbox_search_assignment_pagination_notes(browser, served: Served) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    s = served.seeded
    total = sum(s.open_counts.values())
    pages = (total + 24) // 25
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        sign_in(page, served)

        # Totals agree with the overview; crisis first; 25 a page.
        expect(page.locator("#inbox-totals")).to_contain_text(f"Open work: {total}")
        for kind, n in s.open_counts.items():
            expect(page.locator(f"#inbox-totals .kind-total[data-kind={kind}]")).to_contain_text(
                str(n)
            )
        expect(page.locator("table.inbox tr.inbox-item")).to_have_count(25)
        assert {k for k, _ in shown_ids(page)} == {"escalation"}
        expect(page.locator(".pager").first).to_contain_text(f"1–25 of {total}")
        expect(page.locator(".pager").first).to_contain_text(f"page 1 of {pages}")
        first_page = shown_ids(page)
        page.screenshot(path=str(ARTIFACTS / "inbox-desktop.png"))

        # The banner: the count of all open escalations and only the newest three.
        banner = page.locator("section.crisis-banner")
        expect(banner.locator("#crisis-count")).to_have_text(str(s.open_counts["escalation"]))
        expect(banner.locator("ol.newest li")).to_have_count(3)
        expect(banner.locator("ol.newest li").first).to_contain_text(f"#{s.sms_escalation}")
        assert banner.bounding_box()["height"] < 200
        banner.screenshot(path=str(ARTIFACTS / "crisis-banner.png"))
        page.goto(f"{served.url}/")
        expect(page.locator("li[data-kind=escalation] strong")).to_have_text(
            str(s.open_counts["escalation"])
        )
        expect(page.locator("#crisis-count")).to_have_text(str(s.open_counts["escalation"]))
        page.locator("section.crisis-banner h2 a").click()
        expect(page).to_have_url(f"{served.url}/inbox?kind=escalation")
        expect(page.locator("#inbox-totals")).to_contain_text(
            f"Matching: {s.open_counts['escalation']}"
        )

        # Pagination: next page, then the last one; every item once.
        page.goto(f"{served.url}/inbox")
        page.locator(".pager").first.get_by_role("link", name="Next ›").click()
        expect(page).to_have_url(re.compile(r"page=2"))
        expect(page.locator(".pager").first).to_contain_text(f"26–50 of {total}")
        second_page = shown_ids(page)
        assert len(second_page) == 25 and not set(first_page) & set(second_page)
        page.goto(f"{served.url}/inbox?page={pages}")
        last = shown_ids(page)
        assert len(last) == total - 25 * (pages - 1)
        assert {k for k, _ in last} == {"lead"}
        expect(page.locator(".pager").first.get_by_role("link", name="Next ›")).to_have_count(0)

        # Search by phone as a person would type it: the handoff of that chat shows the
        # number the person gave later in the lead.
        page.goto(f"{served.url}/inbox")
        page.get_by_label("Search").fill("(415) 867-5301")
        page.get_by_label("Search").press("Enter")
        expect(page.locator("table.inbox tr.inbox-item")).to_have_count(2)
        assert set(shown_ids(page)) == {("handoff", s.dana_handoff), ("lead", s.dana_lead)}
        handoff = page.locator(f"tr.inbox-item[data-kind=handoff][data-id='{s.dana_handoff}']")
        expect(handoff.locator("ul.contacts")).to_contain_text("+1 415-867-5301")
        expect(handoff.locator("ul.contacts")).to_contain_text("Dana Cruz")
        expect(handoff.locator(".waited")).to_have_text(re.compile(r"^\d+ min$"))
        page.get_by_label("Search").fill("dana")
        page.get_by_label("Search").press("Enter")
        expect(page.locator("table.inbox tr.inbox-item")).to_have_count(2)
        page.get_by_label("Search").fill(s.sms_conversation)
        page.get_by_label("Search").press("Enter")
        expect(page.locator("table.inbox tr.inbox-item")).to_have_count(1)
        expect(page.locator("table.inbox")).to_contain_text("+1 212-555-0147")

        # Take it: assigned to me, the page (and its search) stays; "to me" lists it.
        page.get_by_label("Search").fill("dana")
        page.get_by_label("Search").press("Enter")
        handoff.get_by_role("button", name="Take it").click()
        expect(page).to_have_url(re.compile(r"q=dana"))
        expect(handoff.locator(".assignee")).to_have_text("You")
        expect(handoff.get_by_role("button", name="Release")).to_be_visible()
        page.get_by_label("Search").fill("")
        page.get_by_label("Assigned").select_option("me")
        page.get_by_role("button", name="Filter").click()
        assert shown_ids(page) == [("handoff", s.dana_handoff)]
        expect(page.locator("#inbox-totals")).to_contain_text("Matching: 1")

        # A note: the status stays, the history and the inbox row show it.
        page.locator(f"tr.inbox-item[data-id='{s.dana_handoff}'] a.item-link").click()
        expect(page.locator("#current-status")).to_have_text("new")
        page.get_by_label("Add a note").fill("left a voicemail, will try again at 4")
        page.get_by_role("button", name="Add note").click()
        expect(page.locator(".flash")).to_have_text("Note added.")
        expect(page.locator("#current-status")).to_have_text("new")
        latest = page.locator("table.audit tbody tr").first
        expect(latest).to_contain_text("note")
        expect(latest).to_contain_text("left a voicemail, will try again at 4")
        expect(latest).to_contain_text(EMAIL)
        expect(page.locator("table.audit tbody tr").nth(1)).to_contain_text("took it")
        expect(page.locator("#contacts")).to_contain_text("+1 415-867-5301")
        page.screenshot(path=str(ARTIFACTS / "item-note.png"), full_page=True)
        page.goto(f"{served.url}/inbox?assigned=me")
        expect(page.locator("tr.inbox-item .last-note")).to_contain_text("left a voicemail")
        with session_scope(served.database_url) as db:
            assert db.get(Handoff, s.dana_handoff).status == "new"
    finally:
        context.close()


def test_new_items_put_a_count_in_the_tab_title_and_notify(browser, served: Served) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(RECORD_NOTIFICATIONS)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.clock.install()
        sign_in(page, served)
        expect(page).to_have_title(re.compile(r"^Inbox · "))
        crisis_count = int(page.locator("#crisis-count").inner_text())
        with session_scope(served.database_url) as db:
            db.add(
                Escalation(
                    conversation_id=f"late-{uuid.uuid4().hex[:8]}",
                    channel="rest",
                    message_text="arrived while the page was open",
                    detected_by="test",
                )
            )
            db.add(
                Lead(
                    conversation_id=f"late-{uuid.uuid4().hex[:8]}",
                    channel="rest",
                    name="Late Lead",
                    phone_e164="+12025559999",
                    consent=True,
                    consent_text="yes",
                )
            )
        page.clock.run_for(21_000)  # one poll
        expect(page).to_have_title(re.compile(r"^\(2\) Crisis · Inbox · "))
        expect(page.locator("#new-items")).to_be_visible()
        expect(page.locator("#new-items")).to_contain_text("1 crisis escalation, 1 lead")
        expect(page.locator("#crisis-count")).to_have_text(str(crisis_count + 1))
        notes = page.evaluate("window.__notifications")
        assert notes == [
            {
                "title": "Crisis: reach out now",
                "body": "1 crisis escalation, 1 lead since you opened the console page.",
            }
        ]
        # Nothing new: no second notification; one more item: the count grows.
        page.clock.run_for(21_000)
        assert len(page.evaluate("window.__notifications")) == 1
        with session_scope(served.database_url) as db:
            db.add(
                Handoff(
                    conversation_id=f"late-{uuid.uuid4().hex[:8]}",
                    channel="rest",
                    reason="asked for a person",
                )
            )
        page.clock.run_for(21_000)
        expect(page).to_have_title(re.compile(r"^\(3\) Crisis · Inbox · "))
        assert len(page.evaluate("window.__notifications")) == 2
        # A reload starts from the new baseline.
        page.reload()
        expect(page).to_have_title(re.compile(r"^Inbox · "))
        # The polled endpoint needs the session: JSON without it is 401.
        anonymous = requests.get(f"{served.url}/api/summary.json?after_lead=0", timeout=10)
        assert anonymous.status_code == 401
        as_json = requests.get(
            f"{served.url}/inbox", headers={"Accept": "application/json"}, timeout=10
        )
        assert as_json.status_code == 401
    finally:
        context.close()


def test_inbox_and_leads_on_a_375px_phone(browser, served: Served) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    context = browser.new_context(
        viewport={"width": 375, "height": 667},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        sign_in(page, served)
        expect(page.locator("table.inbox tr.inbox-item")).to_have_count(25)

        def page_width() -> int:
            return page.evaluate("document.documentElement.scrollWidth")

        assert page_width() <= 375
        card = page.locator("table.inbox tr.inbox-item").first
        box = card.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375
        page.screenshot(path=str(ARTIFACTS / "inbox-phone.png"))
        card.scroll_into_view_if_needed()
        page.evaluate("window.scrollBy(0, -8)")
        page.screenshot(path=str(ARTIFACTS / "inbox-phone-cards.png"))

        # Leads: the table scrolls inside its box, the first column (#, name) stays.
        page.goto(f"{served.url}/leads")
        table = page.locator("table.queue-lead")
        expect(table).to_be_visible()
        assert page_width() <= 375
        scroller = page.locator(".table-scroll").first
        sizes = scroller.evaluate("e => [e.scrollWidth, e.clientWidth]")
        assert sizes[0] > sizes[1]
        first_cell = table.locator("tbody tr").first.locator("td.sticky")
        expect(first_cell).to_have_text(re.compile(r"^#\d+ \w+"))  # the id and the name
        before = first_cell.bounding_box()["x"]
        phone_cell = table.locator("tbody tr").first.locator("td").nth(5)
        scroller.scroll_into_view_if_needed()
        page.evaluate("window.scrollBy(0, -60)")
        page.screenshot(path=str(ARTIFACTS / "leads-phone.png"))
        scroller.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
        assert abs(first_cell.bounding_box()["x"] - before) < 1  # sticky
        assert phone_cell.bounding_box()["x"] + phone_cell.bounding_box()["width"] <= 376
        page.screenshot(path=str(ARTIFACTS / "leads-phone-scrolled.png"))

        page.goto(f"{served.url}/content")
        assert page_width() <= 375
    finally:
        context.close()


def test_content_page_shows_each_answer(browser, served: Served) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        sign_in(page, served, "/content")
        cards = page.locator("article.content-item")
        assert cards.count() > 10
        card = page.locator("#content-candidacy_age_limits")
        expect(card.locator(".version")).to_have_text("1")
        expect(card.locator(".reviewed-on")).to_contain_text("by Medical Director (MD)")
        expect(card.locator(".answer-web .answer-text")).to_contain_text(
            "Ketamine for depression has mainly been studied in adults"
        )
        expect(card.locator(".answer-sms .answer-text")).to_contain_text(
            "SPRAVATO is approved only for adults"
        )
        expect(card.locator(".answer-sms h4")).to_contain_text("characters")
        # Answers with placeholders show this clinic's details, not "{clinic_name}".
        expect(page.locator(".answer-text", has_text="{clinic_")).to_have_count(0)
        page.screenshot(path=str(ARTIFACTS / "content-page.png"))
        card.scroll_into_view_if_needed()
        page.evaluate("window.scrollBy(0, -10)")
        page.screenshot(path=str(ARTIFACTS / "content-answers.png"))
    finally:
        context.close()
