"""`python -m bot purge`: old data goes, recent and pending data stays, counts are reported."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, func, select

from bot.__main__ import main
from bot.store.db import get_engine
from bot.store.models import (
    Alert,
    AnswerServed,
    Escalation,
    Handoff,
    Lead,
    SmsContact,
    SmsOptOut,
    StatusChange,
    UnansweredQuestion,
    utcnow,
)
from bot.store.retention import purge

DAYS = 30
OLD = utcnow() - timedelta(days=DAYS + 10)
NEW = utcnow() - timedelta(days=1)


def events_table(url: str) -> Table:
    """The shape of Rasa's SQL tracker store table (Rasa creates it in production)."""
    metadata = MetaData()
    table = Table(
        "events",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("sender_id", String(255), nullable=False, index=True),
        Column("type_name", String(255), nullable=False),
        Column("timestamp", Float),
        Column("intent_name", String(255)),
        Column("action_name", String(255)),
        Column("data", Text),
    )
    metadata.create_all(get_engine(url))
    return table


def add_events(url: str, table: Table, rows: list[tuple[str, float]]) -> None:
    with get_engine(url).begin() as conn:
        conn.execute(
            table.insert(),
            [{"sender_id": s, "type_name": "user", "timestamp": t, "data": "{}"} for s, t in rows],
        )


def seed(session_factory) -> None:  # type: ignore[no-untyped-def]
    """One old and one recent row per table, plus rows that must always survive."""
    with session_factory() as session:
        for when, tag in ((OLD, "old"), (NEW, "new")):
            lead = Lead(
                conversation_id=f"c-{tag}",
                name="Ann Example",
                phone_e164="+15550100123",
                consent=True,
                consent_text="ok",
                created_at=when,
                updated_at=when,
            )
            handoff = Handoff(
                conversation_id=f"c-{tag}", reason="asked", created_at=when, updated_at=when
            )
            escalation = Escalation(
                conversation_id=f"c-{tag}",
                message_text="crisis text",
                detected_by="patterns",
                created_at=when,
                updated_at=when,
            )
            session.add_all([lead, handoff, escalation])
            session.flush()
            session.add_all(
                [
                    StatusChange(
                        item_kind="lead",
                        item_id=lead.id,
                        old_status="new",
                        new_status="contacted",
                        changed_by_email="staff@example.org",
                        changed_at=when,
                    ),
                    Alert(
                        kind="lead",
                        ref_id=lead.id,
                        notifier="webhook",
                        target="http://hook",
                        subject="s",
                        body="b",
                        status="sent",
                        created_at=when,
                        sent_at=when,
                    ),
                    UnansweredQuestion(conversation_id=f"c-{tag}", text="what?", created_at=when),
                    AnswerServed(
                        conversation_id=f"c-{tag}", content_id="x", version=1, served_at=when
                    ),
                    SmsContact(
                        conversation_id=f"sms-{tag}",
                        phone_e164="+15550100124",
                        created_at=when,
                        updated_at=when,
                    ),
                ]
            )
        # Never deleted: an undelivered alert, however old, and an SMS opt-out.
        session.add(
            Alert(
                kind="crisis",
                ref_id=1,
                notifier="webhook",
                target="http://hook",
                subject="s",
                body="b",
                status="pending",
                created_at=OLD,
            )
        )
        session.add(SmsOptOut(phone_e164="+15550100125", keyword="STOP", opted_out_at=OLD))


def count(url: str, model) -> int:  # type: ignore[no-untyped-def]
    with get_engine(url).connect() as conn:
        return conn.execute(select(func.count()).select_from(model.__table__)).scalar_one()


@pytest.fixture
def url(database, settings_with_webhook) -> str:  # type: ignore[no-untyped-def]
    seed(database)
    return settings_with_webhook.database_url


def test_purge_deletes_old_rows_and_reports_counts(url: str) -> None:
    events = events_table(url)
    now, old = time.time(), time.time() - (DAYS + 10) * 86400
    add_events(
        url,
        events,
        [("old-conv", old), ("old-conv", old + 60), ("live", old), ("live", now), ("new", now)],
    )
    report = purge(DAYS, url=url)
    assert report.counts == {
        "events": 2,
        "status_changes": 1,
        "escalation_messages": 0,
        "escalations": 1,
        "handoffs": 1,
        "leads": 1,
        "alerts": 1,
        "unanswered_questions": 1,
        "answers_served": 1,
        "sms_contacts": 1,
        "sms_inbound": 0,
    }
    assert report.conversations == 1
    assert report.total == 10
    with get_engine(url).connect() as conn:
        senders = conn.execute(select(events.c.sender_id).distinct()).scalars().all()
    # A conversation with any recent event is kept whole.
    assert sorted(senders) == ["live", "new"]
    for model in (Lead, Handoff, Escalation, UnansweredQuestion, AnswerServed, SmsContact):
        assert count(url, model) == 1, model.__tablename__
    assert count(url, StatusChange) == 1
    assert count(url, Alert) == 2  # the recent sent one and the old pending one
    assert count(url, SmsOptOut) == 1
    with get_engine(url).connect() as conn:
        pending = conn.execute(select(Alert.status).where(Alert.created_at == OLD)).scalar_one()
    assert pending == "pending"


def test_dry_run_counts_without_deleting(url: str) -> None:
    report = purge(DAYS, dry_run=True, url=url)
    assert report.dry_run and report.counts["leads"] == 1 and report.counts["alerts"] == 1
    assert not report.events_table_found  # Rasa's table does not exist in this database
    assert count(url, Lead) == 2 and count(url, Alert) == 3
    assert "would delete" in report.lines()[0]


def test_active_sms_conversation_keeps_its_number(url: str) -> None:
    events = events_table(url)
    add_events(url, events, [("sms-old", time.time())])  # old contact row, recent message
    report = purge(DAYS, url=url)
    assert report.counts["sms_contacts"] == 0
    assert count(url, SmsContact) == 2


def test_refuses_less_than_one_day(url: str) -> None:
    with pytest.raises(ValueError):
        purge(0, url=url)
    assert main(["purge", "--older-than", "0"]) == 2
    assert count(url, Lead) == 2


def test_cli_reports_per_table(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["purge", "--older-than", str(DAYS), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would delete" in out and "leads" in out and "total" in out
    assert count(url, Lead) == 2
    assert main(["purge", "--older-than", str(DAYS)]) == 0
    assert "deleted" in capsys.readouterr().out
    assert count(url, Lead) == 1


def test_cli_default_comes_from_retention_days(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.config import get_settings

    monkeypatch.setenv("RETENTION_DAYS", "3650")
    get_settings.cache_clear()
    assert main(["purge"]) == 0
    assert "older than 3650 days" in capsys.readouterr().out
    assert count(url, Lead) == 2
