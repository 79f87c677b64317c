"""bot/staff/escalation.py: crisis episodes, bounded staff alerts, capped bodies, recorded once."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from bot.staff.escalation import (
    ALERT_BODY_MAX_CHARS,
    cap,
    message_key,
    record_callback,
    record_crisis,
)
from bot.store.models import Alert, Escalation, EscalationMessage, utcnow


def record(settings, conversation: str = "c1", text: str = "i want to die", **kw):  # type: ignore[no-untyped-def]
    return record_crisis(
        settings,
        conversation_id=conversation,
        channel="rest",
        message=text,
        detected_by="pattern:test",
        **kw,
    )


def crisis_alerts(database) -> list[Alert]:  # type: ignore[no-untyped-def]
    with database() as session:
        return list(session.scalars(select(Alert).where(Alert.kind == "crisis")).all())


def test_repeated_crisis_messages_update_one_escalation(database, settings_with_webhook) -> None:  # type: ignore[no-untyped-def]
    settings = replace(settings_with_webhook, escalation_update_minutes=5)
    start = utcnow()
    first = record(settings, now=start)
    assert first.new_episode and first.alerted
    for minute in range(1, 4):  # within the update interval: no new alert
        later = record(settings, text=f"still {minute}", now=start + timedelta(minutes=minute))
        assert later.escalation_id == first.escalation_id and not later.alerted
    update = record(settings, text="please", now=start + timedelta(minutes=6))
    assert update.escalation_id == first.escalation_id and update.alerted
    with database() as session:
        [escalation] = session.scalars(select(Escalation)).all()
        assert escalation.message_count == 5
        assert escalation.message_text == "i want to die"  # the first message
        assert len(session.scalars(select(EscalationMessage)).all()) == 5
    alerts = crisis_alerts(database)
    assert len(alerts) == 2  # one destination: the first alert and one update
    assert "update" in alerts[1].subject and "4 more message(s)" in alerts[1].subject


def test_a_new_episode_after_the_window_or_once_resolved(database, settings_with_webhook) -> None:  # type: ignore[no-untyped-def]
    settings = replace(settings_with_webhook, escalation_episode_minutes=30)
    start = utcnow()
    first = record(settings, now=start)
    assert record(settings, now=start + timedelta(minutes=29)).escalation_id == first.escalation_id
    # 30 minutes after the previous crisis message: a new escalation
    second = record(settings, now=start + timedelta(minutes=60))
    assert second.new_episode and second.escalation_id != first.escalation_id
    with database() as session:
        session.get(Escalation, second.escalation_id).status = "resolved"
    third = record(settings, now=start + timedelta(minutes=61))
    assert third.new_episode and third.escalation_id not in (
        first.escalation_id,
        second.escalation_id,
    )
    # other conversations have their own episodes
    assert record(settings, conversation="c2", now=start + timedelta(minutes=61)).new_episode


def test_the_same_message_is_recorded_once(database, settings_with_webhook) -> None:  # type: ignore[no-untyped-def]
    key = message_key("c1", "message-1")
    first = record(settings_with_webhook, key=key)
    again = record(settings_with_webhook, key=key)  # the crisis action, a retry, a replica
    assert again.duplicate and again.escalation_id == first.escalation_id
    with database() as session:
        assert session.get(Escalation, first.escalation_id).message_count == 1
    assert len(crisis_alerts(database)) == 1


def test_alert_bodies_are_capped(database, settings_with_webhook) -> None:  # type: ignore[no-untyped-def]
    recorded = record(settings_with_webhook, text="i want to die " + "x" * 1_000_000)
    [alert] = crisis_alerts(database)
    assert len(alert.body) == ALERT_BODY_MAX_CHARS and alert.body.endswith("…")
    with database() as session:
        assert len(session.get(Escalation, recorded.escalation_id).message_text) <= 2000
    assert cap("short", 10) == "short" and cap("x" * 11, 10) == "x" * 9 + "…"


def test_nothing_sent_to_the_person_is_said_in_the_alert(database, settings_with_webhook) -> None:  # type: ignore[no-untyped-def]
    record(settings_with_webhook, note="NOTHING was sent: opted out", resources_given=False)
    [alert] = crisis_alerts(database)
    assert "Nothing could be sent to them" in alert.body and "opted out" in alert.body
    assert "988/911 resources" not in alert.body


def test_a_call_back_goes_on_the_escalation_with_an_urgent_alert(  # type: ignore[no-untyped-def]
    database, settings_with_webhook
) -> None:
    first = record(settings_with_webhook, conversation="cb")
    callback = record_callback(
        settings_with_webhook, conversation_id="cb", channel="rest", phone_e164="+13125550199"
    )
    assert (callback.escalation_id, callback.new_escalation) == (first.escalation_id, False)
    with database() as session:
        escalation = session.get(Escalation, first.escalation_id)
        assert escalation.contact == "+13125550199" and escalation.callback_requested_at
    urgent = [a for a in crisis_alerts(database) if a.subject.startswith("URGENT call-back")]
    assert urgent and "+13125550199" in urgent[0].body and urgent[0].priority == 100


def test_a_call_back_without_a_recorded_escalation_is_not_lost(  # type: ignore[no-untyped-def]
    database, settings_with_webhook
) -> None:
    callback = record_callback(
        settings_with_webhook, conversation_id="none", channel="rest", phone_e164="+13125550198"
    )
    assert callback.new_escalation
    with database() as session:
        escalation = session.get(Escalation, callback.escalation_id)
        assert (
            escalation.contact == "+13125550198" and escalation.detected_by == "call-back request"
        )
