"""The console's inbox: one list of open work (crisis, then handoffs, then leads) with
assignment, filters, search, pagination, notes, contact details from the whole
conversation, the compact crisis banner and the polled summary. The real Flask app
and queries on a real database (SQLite; the query also on PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import func, select

from bot.config import get_settings
from bot.console import queries
from bot.console.accounts import create_user
from bot.console.app import create_app
from bot.store.db import init_db, session_scope
from bot.store.models import Escalation, Handoff, Lead, SmsContact, StaffUser, StatusChange, utcnow
from tests.conftest import postgres_database

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
EMAIL = "frontdesk@clinic.test"
OTHER_EMAIL = "nurse@clinic.test"
PASSWORD = "long enough staff password"
BOOKING = "clinic_and_booking_first_consultation"  # its file has a call-back button
ROW = re.compile(r'<tr class="inbox-item kind-(\w+) [^"]*" data-kind="\w+" data-id="(\d+)"')


@dataclass
class Seeded:
    """Ids of the items the tests look for among the generated ones."""

    dana_lead: int
    dana_handoff: int  # same conversation as the lead; the handoff itself had no contact
    dana_conversation: str
    sms_escalation: int
    sms_conversation: str
    email_handoff: int
    resolved_escalation: int
    open_counts: dict[str, int]


def seed_inbox(url: str, *, escalations: int = 300, handoffs: int = 60, leads: int = 90) -> Seeded:
    """Several hundred items, spread over the last days, a few of them findable."""
    now = utcnow()
    with session_scope(url) as db:
        rows: list = []
        for n in range(escalations):
            status = "resolved" if n % 10 == 9 else "contacted" if n % 4 == 3 else "new"
            rows.append(
                Escalation(
                    conversation_id=f"gen-esc-{n:04d}",
                    channel="rest" if n % 3 else "socketio",
                    message_text=f"generated crisis message {n}",
                    detected_by="test",
                    status=status,
                    created_at=now - timedelta(minutes=5 * n + 7),
                )
            )
        for n in range(handoffs):
            rows.append(
                Handoff(
                    conversation_id=f"gen-hand-{n:04d}",
                    channel="rest",
                    reason="asked for a person",
                    last_message="can I talk to someone",
                    status="resolved" if n % 5 == 4 else "new",
                    created_at=now - timedelta(minutes=11 * n + 3),
                )
            )
        for n in range(leads):
            rows.append(
                Lead(
                    conversation_id=f"gen-lead-{n:04d}",
                    channel="rest",
                    name=f"Generated Person {n}",
                    phone_e164=f"+1202555{n:04d}",
                    consent=True,
                    consent_text="yes",
                    status="contacted" if n % 6 == 5 else "new",
                    created_at=now - timedelta(minutes=13 * n + 1),
                )
            )
        db.add_all(rows)
        dana_conversation = "web-dana-7f3a91c2"
        handoff = Handoff(
            conversation_id=dana_conversation,
            channel="rest",
            reason="asked for a person",
            last_message="I want to speak to a human",
            contact=None,
            created_at=now - timedelta(minutes=30),
        )
        lead = Lead(
            conversation_id=dana_conversation,
            channel="rest",
            name="Dana Cruz",
            phone_e164="+14158675301",
            email="dana.cruz@example.org",
            contact_time="mornings",
            consent=True,
            consent_text="yes",
            created_at=now - timedelta(minutes=25),
        )
        sms_conversation = "a3" * 32  # SMS ids are a keyed hash of the number
        sms = Escalation(
            conversation_id=sms_conversation,
            channel="twilio_sms",
            message_text="i cant do this anymore",
            detected_by="test",
            contact="+12125550147",
            created_at=now - timedelta(minutes=2),
        )
        email = Handoff(
            conversation_id="web-email-1",
            channel="rest",
            reason="bot could not help",
            contact="pat.lee@example.org",
            created_at=now - timedelta(minutes=40),
        )
        resolved = Escalation(
            conversation_id="web-resolved-1",
            channel="rest",
            message_text="old crisis, resolved",
            detected_by="test",
            status="resolved",
            created_at=now - timedelta(days=3),
        )
        db.add_all([handoff, lead, sms, email, resolved])
        db.add(SmsContact(conversation_id=sms_conversation, phone_e164="+12125550147"))
        db.flush()
        counts = {kind: sum(c.values()) for kind, c in queries.open_counts(db).items()}
        return Seeded(
            dana_lead=lead.id,
            dana_handoff=handoff.id,
            dana_conversation=dana_conversation,
            sms_escalation=sms.id,
            sms_conversation=sms_conversation,
            email_handoff=email.id,
            resolved_escalation=resolved.id,
            open_counts=counts,
        )


@dataclass
class Console:
    app: Flask
    url: str
    seeded: Seeded

    def client(self, email: str = EMAIL) -> FlaskClient:
        client = self.app.test_client()
        page = client.get("/login").get_data(as_text=True)
        response = client.post(
            "/login",
            data={"csrf_token": CSRF.search(page).group(1), "email": email, "password": PASSWORD},
        )
        assert response.status_code == 302
        return client

    def user_id(self, email: str = EMAIL) -> int:
        with session_scope(self.url) as db:
            return db.scalar(select(StaffUser.id).where(StaffUser.email == email))


@pytest.fixture
def console(database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Console]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CONSOLE_SECRET_KEY", "test-console-secret-key-0123456789")
    get_settings.cache_clear()
    settings = get_settings()
    create_user(settings.database_url, EMAIL, PASSWORD)
    create_user(settings.database_url, OTHER_EMAIL, PASSWORD)
    seeded = seed_inbox(settings.database_url)
    yield Console(create_app(settings), settings.database_url, seeded)
    get_settings.cache_clear()


def rows(html: str) -> list[tuple[str, int]]:
    return [(kind, int(item_id)) for kind, item_id in ROW.findall(html)]


def token(client: FlaskClient, path: str) -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def page(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


# --- Listing ---------------------------------------------------------------------


def test_open_work_is_crisis_then_handoffs_then_leads_on_pages_of_25(console: Console) -> None:
    client = console.client()
    counts = console.seeded.open_counts
    total = sum(counts.values())
    assert total > 350
    first = page(client, "/inbox")
    assert f"Open work: <strong>{total}</strong>" in first
    for kind, n in counts.items():
        assert f'data-kind="{kind}" href="/inbox?kind={kind}">' in first
        assert re.search(rf'data-kind="{kind}" [^>]*>[^<]+: <strong>{n}</strong>', first)
    # Every open item exactly once over all pages; the kinds in order.
    seen: list[tuple[str, int]] = []
    pages = (total + 24) // 25
    for number in range(1, pages + 1):
        html = page(client, f"/inbox?page={number}")
        found = rows(html)
        assert len(found) == (25 if number < pages else total - 25 * (pages - 1))
        assert f"page {number} of {pages}" in html
        seen += found
    assert len(seen) == len(set(seen)) == total
    kinds = [kind for kind, _ in seen]
    assert kinds == sorted(kinds, key=queries.KIND_RANK.__getitem__)
    assert kinds.count("escalation") == counts["escalation"]
    with session_scope(console.url) as db:
        open_ids = {
            (kind, item_id)
            for kind, model in queries.KINDS.items()
            for item_id in db.scalars(select(model.id).where(model.status != "resolved"))
        }
        # Within a kind, not yet contacted first, then the longest waiting.
        statuses = [db.get(Escalation, i).status for k, i in seen if k == "escalation"]
        escalations = [db.get(Escalation, i) for k, i in seen if k == "escalation"]
    assert set(seen) == open_ids
    assert statuses == sorted(statuses, key=lambda s: s != "new")
    new_ones = [e.created_at for e in escalations if e.status == "new"]
    assert new_ones == sorted(new_ones)
    # A page past the end shows the last one; nonsense is refused.
    assert rows(page(client, "/inbox?page=999")) == seen[25 * (pages - 1) :]
    assert client.get("/inbox?page=x").status_code == 400
    assert client.get("/inbox?kind=nonsense").status_code == 400


def test_totals_agree_with_the_overview_and_the_banner(console: Console) -> None:
    client = console.client()
    counts = console.seeded.open_counts
    overview = page(client, "/")
    for kind, n in counts.items():
        assert f'data-kind="{kind}" data-open="{n}"' in overview
    crisis = page(client, "/inbox?kind=escalation")
    assert f"Matching: <strong>{counts['escalation']}</strong>" in crisis
    assert set(k for k, _ in rows(crisis)) == {"escalation"}
    # The banner on every page: all open escalations, the newest three only.
    for html in (overview, crisis, page(client, "/content")):
        banner = html.split('<section class="crisis-banner"', 1)[1].split("</section>", 1)[0]
        assert (
            f'<span class="crisis-count" id="crisis-count">{counts["escalation"]}</span>' in banner
        )
        assert banner.count("<li>") == 3
        assert f"#{console.seeded.sms_escalation}</a>" in banner  # the newest
        assert 'href="/inbox?kind=escalation"' in banner
    queue = page(client, "/escalations")
    assert f'of <strong class="total">{counts["escalation"]}</strong>' in queue
    assert queue.count('<tr class="status-row-') == 25


def test_filters_kind_status_channel(console: Console) -> None:
    client = console.client()
    sms = rows(page(client, "/inbox?channel=twilio_sms"))
    assert sms == [("escalation", console.seeded.sms_escalation)]
    resolved = page(client, "/inbox?status=resolved&kind=escalation")
    assert ("escalation", console.seeded.resolved_escalation) in rows(resolved)
    with session_scope(console.url) as db:
        n = db.scalar(
            select(func.count()).select_from(Escalation).where(Escalation.status == "resolved")
        )
    assert f"Matching: <strong>{n}</strong>" in resolved
    contacted = rows(page(client, "/inbox?status=contacted&kind=lead"))
    with session_scope(console.url) as db:
        assert all(db.get(Lead, i).status == "contacted" for _, i in contacted)


# --- Search ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "415-867-5301",
        "(415) 867 5301",
        "+1 415.867.5301",
        "4158675301",
        "1 415 867 5301",
        "+14158675301",
    ],
)
def test_search_by_phone_in_any_format_finds_the_whole_conversation(
    console: Console, typed: str
) -> None:
    found = rows(page(console.client(), f"/inbox?q={typed.replace('+', '%2B')}"))
    assert set(found) == {
        ("handoff", console.seeded.dana_handoff),
        ("lead", console.seeded.dana_lead),
    }


def test_search_by_name_email_sms_number_and_conversation_id(console: Console) -> None:
    client = console.client()
    s = console.seeded
    dana = {("handoff", s.dana_handoff), ("lead", s.dana_lead)}
    assert set(rows(page(client, "/inbox?q=dana"))) == dana
    assert set(rows(page(client, "/inbox?q=CRUZ"))) == dana
    assert set(rows(page(client, "/inbox?q=dana.cruz@example.org"))) == dana
    assert rows(page(client, "/inbox?q=(212) 555-0147")) == [("escalation", s.sms_escalation)]
    assert rows(page(client, "/inbox?q=pat.lee")) == [("handoff", s.email_handoff)]
    assert set(rows(page(client, f"/inbox?q={s.dana_conversation}"))) == dana
    assert set(rows(page(client, "/inbox?q=web-dana"))) == dana  # a prefix
    assert rows(page(client, f"/inbox?q={s.sms_conversation[:12]}")) == [
        ("escalation", s.sms_escalation)
    ]
    assert rows(page(client, "/inbox?q=8675301")) == rows(page(client, "/inbox?q=415 8675301"))
    assert set(rows(page(client, "/inbox?q=5301"))) >= dana  # part of a number
    # "#62": item number 62 of each kind.
    numbered = rows(page(client, f"/inbox?q=%23{s.email_handoff}"))
    assert ("handoff", s.email_handoff) in numbered and all(
        i == s.email_handoff for _, i in numbered
    )
    # LIKE wildcards are text, not patterns; no match says so.
    nothing = page(client, "/inbox?q=%25")
    assert rows(nothing) == [] and "Nothing matches." in nothing
    assert rows(page(client, "/inbox?q=_")) == []


def test_phone_query_normalises_with_phonenumbers() -> None:
    assert queries.phone_query("(415) 867-5301").e164 == "+14158675301"
    assert queries.phone_query("+44 20 7946 0958").e164 == "+442079460958"
    assert queries.phone_query("867-5301") == queries.PhoneQuery(digits="8675301")
    assert queries.phone_query("Dana") == queries.PhoneQuery()
    assert queries.phone_query("12") == queries.PhoneQuery()


# --- Contact details and waiting time ---------------------------------------------


def test_every_item_shows_the_contacts_given_anywhere_in_its_conversation(
    console: Console,
) -> None:
    client = console.client()
    s = console.seeded
    html = page(client, "/inbox?q=web-dana")
    handoff_row = html.split(f'data-id="{s.dana_handoff}"', 1)[1].split("</tr>", 1)[0]
    # The handoff had no contact; the lead given minutes later in the same chat has.
    assert 'href="tel:+14158675301">+1 415-867-5301</a>' in handoff_row
    assert "Dana Cruz" in handoff_row and "dana.cruz@example.org" in handoff_row
    assert "prefers mornings" in handoff_row
    assert re.search(r'class="waited"[^>]*>\d+ min<', handoff_row)
    item = page(client, f"/handoff/{s.dana_handoff}")
    contacts = item.split('id="contacts"', 1)[1].split("</dd>", 1)[0]
    assert "+1 415-867-5301" in contacts and f"lead #{s.dana_lead}" in contacts
    assert "waiting " in item
    sms = page(client, f"/escalation/{s.sms_escalation}")
    contacts = sms.split('id="contacts"', 1)[1].split("</dd>", 1)[0]
    # The escalation's own contact and the SMS sender: one number, both sources.
    assert contacts.count("tel:+12125550147") == 1
    assert f"escalation #{s.sms_escalation}, SMS sender" in contacts
    # The handoff queue and the conversation page show them too.
    assert "+1 415-867-5301" in page(client, "/handoffs?status=open&page=1")
    conversation = page(client, f"/conversations/{s.dana_conversation}")
    assert "+1 415-867-5301" in conversation.split('id="contacts"', 1)[1]


def test_wait_text() -> None:
    now = datetime(2026, 1, 1, 12, 0)
    assert queries.wait_text(now - timedelta(seconds=20), now) == "under a minute"
    assert queries.wait_text(now - timedelta(minutes=75), now) == "1 h 15 min"
    assert queries.wait_text(now - timedelta(days=2, hours=1, minutes=5), now) == "2 d 1 h"


# --- Assignment and notes ----------------------------------------------------------


def assign(
    client: FlaskClient, kind: str, item_id: int, action: str, expected: str = "", nxt: str = ""
):  # type: ignore[no-untyped-def]
    return client.post(
        f"/{kind}/{item_id}/assign",
        data={
            "csrf_token": token(client, "/inbox"),
            "action": action,
            "expected": expected,
            "next": nxt,
        },
    )


def test_take_it_assigns_to_me_and_a_second_taker_is_told(console: Console) -> None:
    front, nurse = console.client(), console.client(OTHER_EMAIL)
    s = console.seeded
    me, other = console.user_id(), console.user_id(OTHER_EMAIL)
    back = "/inbox?kind=handoff&page=1"
    taken = assign(front, "handoff", s.dana_handoff, "take", "", back)
    assert taken.status_code == 302 and taken.headers["Location"].endswith(back)
    assert rows(page(front, "/inbox?assigned=me")) == [("handoff", s.dana_handoff)]
    assert rows(page(nurse, "/inbox?assigned=me")) == []
    assert ("handoff", s.dana_handoff) not in rows(
        page(front, "/inbox?assigned=none&kind=handoff&q=dana")
    )
    row = page(nurse, "/inbox?q=web-dana").split(f'data-id="{s.dana_handoff}"', 1)[1]
    assert '<span class="assignee" title="since' in row and EMAIL in row.split("</tr>")[0]
    # The nurse's page still said "nobody": her "Take it" does not silently steal it.
    clash = assign(nurse, "handoff", s.dana_handoff, "take", "")
    assert clash.status_code == 302
    assert f"changed hands meanwhile: it is now with {EMAIL}" in page(nurse, "/inbox")
    assert rows(page(front, "/inbox?assigned=me")) == [("handoff", s.dana_handoff)]
    # "Take over" (the page showed the front desk as assignee) does.
    assert assign(nurse, "handoff", s.dana_handoff, "take", str(me)).status_code == 302
    assert rows(page(nurse, "/inbox?assigned=me")) == [("handoff", s.dana_handoff)]
    assert rows(page(front, "/inbox?assigned=me")) == []
    assert assign(nurse, "handoff", s.dana_handoff, "release", str(other)).status_code == 302
    assert rows(page(nurse, "/inbox?assigned=me")) == []
    # The status never changed; the history says who took and released it.
    with session_scope(console.url) as db:
        assert db.get(Handoff, s.dana_handoff).status == "new"
    history = page(front, f"/handoff/{s.dana_handoff}").split('class="audit"', 1)[1]
    assert history.count("took it") == 2 and history.count("released it") == 1
    # Open redirects are refused: back to the item instead.
    away = assign(front, "lead", s.dana_lead, "take", "", "https://evil.example/")
    assert not away.headers["Location"].startswith("https://evil")
    assert assign(front, "lead", 99999, "take").status_code == 404
    assert assign(front, "lead", s.dana_lead, "steal").status_code == 400


def test_assignment_is_the_latest_assign_row_in_the_audit_trail(console: Console) -> None:
    s = console.seeded
    me, other = console.user_id(), console.user_id(OTHER_EMAIL)
    with session_scope(console.url) as db:
        queries.assign(db, "lead", s.dana_lead, take=True, user_id=me, user_email=EMAIL)
        assert (
            queries.assign(db, "lead", s.dana_lead, take=True, user_id=me, user_email=EMAIL) is None
        )
        with pytest.raises(queries.AssignmentConflict):
            queries.assign(
                db,
                "lead",
                s.dana_lead,
                take=True,
                user_id=other,
                user_email=OTHER_EMAIL,
                expected=None,
            )
        assert queries.current_assignee(db, "lead", s.dana_lead).email == EMAIL
        mine = queries.inbox(db, queries.InboxFilter(assigned="me"), user_id=me)
        assert [(e.kind, e.item.id, e.assignee.email) for e in mine.items] == [
            ("lead", s.dana_lead, EMAIL)
        ]
        queries.assign(db, "lead", s.dana_lead, take=False, user_id=other, user_email=OTHER_EMAIL)
        assert queries.current_assignee(db, "lead", s.dana_lead) is None
        rows_ = db.scalars(
            select(
                StatusChange.old_status,
            ).where(StatusChange.item_id == s.dana_lead)
        ).all()
        assert rows_ == [queries.ASSIGN, queries.RELEASE]


def test_a_note_leaves_the_status_alone(console: Console) -> None:
    client = console.client()
    s = console.seeded
    before = page(client, f"/escalation/{s.sms_escalation}")
    response = client.post(
        f"/escalation/{s.sms_escalation}/note",
        data={
            "csrf_token": CSRF.search(before).group(1),
            "note": "called, no answer; will retry at 3",
        },
    )
    assert response.status_code == 302
    after = page(client, f"/escalation/{s.sms_escalation}")
    assert '<span class="badge status-new" id="current-status">new</span>' in after
    history = after.split('class="audit"', 1)[1]
    assert "<td>note</td><td>called, no answer; will retry at 3</td>" in history
    assert EMAIL in history
    with session_scope(console.url) as db:
        assert db.get(Escalation, s.sms_escalation).status == "new"
    # The inbox row shows the latest note.
    row = page(client, "/inbox?channel=twilio_sms")
    assert "Note: called, no answer; will retry at 3" in row
    # An empty note is refused and writes nothing.
    empty = client.post(
        f"/escalation/{s.sms_escalation}/note",
        data={"csrf_token": CSRF.search(after).group(1), "note": "   "},
    )
    assert empty.status_code == 302
    with session_scope(console.url) as db:
        notes = db.scalar(
            select(func.count())
            .select_from(StatusChange)
            .where(StatusChange.item_id == s.sms_escalation, StatusChange.item_kind == "escalation")
        )
    assert notes == 1


# --- Login and the polled summary ---------------------------------------------------


def test_every_inbox_endpoint_needs_a_login(console: Console) -> None:
    anonymous = console.app.test_client()
    s = console.seeded
    for path in ("/inbox", "/inbox?q=dana", f"/lead/{s.dana_lead}", "/content"):
        assert anonymous.get(path).status_code == 302
        as_json = anonymous.get(path, headers={"Accept": "application/json"})
        assert as_json.status_code == 401 and b"Dana" not in as_json.data
    summary = anonymous.get("/api/summary.json?after_escalation=0")
    assert summary.status_code == 401
    for path in (f"/lead/{s.dana_lead}/assign", f"/lead/{s.dana_lead}/note"):
        assert anonymous.post(path, data={"action": "take", "note": "x"}).status_code == 401
    with session_scope(console.url) as db:
        assert db.scalar(select(func.count()).select_from(StatusChange)) == 0


def test_the_summary_counts_arrivals_since_the_page_baseline(console: Console) -> None:
    client = console.client()
    html = page(client, "/inbox")
    baseline = {
        kind: re.search(rf'data-after-{kind}="(\d+)"', html).group(1) for kind in queries.KINDS
    }
    since = re.search(r'data-since="([^"]+)"', html).group(1)
    query = "&".join(f"after_{k}={v}" for k, v in baseline.items()) + f"&since={since}"
    quiet = client.get(f"/api/summary.json?{query}").json
    assert quiet["arrived_total"] == 0
    assert quiet["crisis_open"] == console.seeded.open_counts["escalation"]
    with session_scope(console.url) as db:
        db.add(
            Escalation(conversation_id="new-1", message_text="x", detected_by="t", channel="rest")
        )
        db.add(
            Lead(
                conversation_id="new-2",
                name="N",
                phone_e164="+12025550000",
                consent=True,
                consent_text="y",
            )
        )
        db.add(
            Lead(
                conversation_id="new-3",
                name="R",
                phone_e164="+12025550001",
                consent=True,
                consent_text="y",
                status="resolved",
            )
        )
        episode = db.get(Escalation, console.seeded.sms_escalation)
        episode.message_count = 2
        episode.last_message_at = utcnow() + timedelta(seconds=1)
    busy = client.get(f"/api/summary.json?{query}").json
    assert busy["arrived"] == {"escalation": 1, "handoff": 0, "lead": 1, "crisis_updates": 1}
    assert busy["arrived_total"] == 3
    assert busy["crisis_open"] == console.seeded.open_counts["escalation"] + 1
    assert "Dana" not in str(busy) and "+1" not in str(busy)  # counts only
    assert client.get("/api/summary.json?after_lead=x").status_code == 400


# --- Content ------------------------------------------------------------------------


def test_the_content_page_shows_each_answer_web_and_sms(console: Console) -> None:
    from bot.__main__ import main

    assert main(["content", "load"]) == 0
    html = page(console.client(), "/content")
    with session_scope(console.url) as db:
        items = queries.content_overview(db, 365, utcnow().date())
    assert len(items) > 10
    settings = get_settings()
    for row in items:
        item = row.item
        card = html.split(f'id="content-{item.content_id}"', 1)[1].split("</article>", 1)[0]
        assert f'<dd class="version">{item.version}</dd>' in card
        assert f"{item.reviewed_on} by {item.reviewed_by}" in card
        assert str(row.due_on) in card
        web = item.answer_web.format_map(settings.clinic.placeholders())
        sms = item.answer_sms.format_map(settings.clinic.placeholders())
        assert str(escape(web)) in card and str(escape(sms)) in card
        for button in item.buttons:
            assert f"“{escape(button['title'])}” (<code>{button['intent']}</code>)" in card
        assert ("content-buttons" in card) == bool(item.buttons)
    booking = next(r.item for r in items if r.item.content_id == BOOKING)
    assert booking.buttons == [{"title": "Request a call-back", "intent": "request_consultation"}]
    assert queries.sms_segments("x" * 160) == 1 and queries.sms_segments("x" * 161) == 2


# --- PostgreSQL -----------------------------------------------------------------------


def test_the_inbox_query_on_postgresql() -> None:
    with postgres_database() as url:
        init_db(url)
        seeded = seed_inbox(url, escalations=40, handoffs=10, leads=10)
        with session_scope(url) as db:
            create_user(url, EMAIL, PASSWORD)
            me = db.scalar(select(StaffUser.id))
            queries.assign(db, "lead", seeded.dana_lead, take=True, user_id=me, user_email=EMAIL)
            result = queries.inbox(db, queries.InboxFilter(), user_id=me, page=2)
            assert result.total == sum(seeded.open_counts.values()) and result.pages == 3
            assert [e.kind for e in result.items][:1] == ["escalation"]
            found = queries.inbox(db, queries.InboxFilter(q="(415) 867-5301"), user_id=me)
            assert {(e.kind, e.item.id) for e in found.items} == {
                ("handoff", seeded.dana_handoff),
                ("lead", seeded.dana_lead),
            }
            mine = queries.inbox(db, queries.InboxFilter(assigned="me"), user_id=me)
            assert [e.item.id for e in mine.items] == [seeded.dana_lead]
            assert queries.inbox(db, queries.InboxFilter(q="DANA"), user_id=me).total == 2
