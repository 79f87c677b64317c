"""Consultation requests and handoffs over REST, with the rows and alerts they create."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import select

from bot.store.db import session_scope
from bot.store.models import Alert, Handoff, Lead
from tests.conftest import Stack, custom_payloads, texts

pytestmark = pytest.mark.e2e


def new_sender() -> str:
    return f"lead-{uuid.uuid4().hex[:12]}"


def said(messages: list[dict]) -> str:
    return " ".join(texts(messages))


def alerts_for(stack: Stack, text: str, timeout: float = 60.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [a for a in stack.webhook.received if text in a.get("text", "")]
        if found:
            return found
        time.sleep(0.2)
    return []


def lead_rows(stack: Stack, sender: str) -> list[Lead]:
    with session_scope(stack.database_url) as session:
        return session.scalars(select(Lead).where(Lead.conversation_id == sender)).all()


def test_happy_path(stack: Stack) -> None:
    sender = new_sender()
    assert "What name" in said(stack.say(sender, "I'd like to book a consultation"))
    assert "phone number" in said(stack.say(sender, "Jordan Lee"))
    assert "email" in said(stack.say(sender, "(415) 867-5309")).lower()
    assert "good time" in said(stack.say(sender, "jordan@example.com"))
    consent = stack.say(sender, "weekday mornings")
    assert "Jordan Lee" in said(consent) and "(415) 867-5309" in said(consent)
    done = stack.say(sender, "yes")
    lead = custom_payloads(done, "lead")
    assert len(lead) == 1, done
    assert "saved" in said(done)
    rows = lead_rows(stack, sender)
    assert [(r.id, r.name, r.phone_e164, r.email, r.contact_time, r.consent) for r in rows] == [
        (
            lead[0]["lead_id"],
            "Jordan Lee",
            "+14158675309",
            "jordan@example.com",
            "weekday mornings",
            True,
        )
    ]
    alert = alerts_for(stack, f"consultation request #{lead[0]['lead_id']}")
    assert alert and "+14158675309" in alert[0]["text"] and "weekday mornings" in alert[0]["text"]


def test_the_booking_answer_button_starts_the_form(stack: Stack) -> None:
    sender = new_sender()
    answer = stack.say(sender, "what happens at the first consultation")
    faq = custom_payloads(answer, "faq")
    assert faq and faq[0]["content_id"] == "clinic_and_booking_first_consultation"
    buttons = [b for m in answer for b in m.get("buttons") or []]
    assert [b["title"] for b in buttons] == ["Request a call-back"]
    assert "What name" in said(stack.say(sender, buttons[0]["payload"]))


def test_inline_details_prefill_the_form(stack: Stack) -> None:
    sender = new_sender()
    first = said(stack.say(sender, "sign me up, my name is Ana Ruiz and my number is 415 867 5310"))
    assert "email" in first.lower(), first  # name and phone were taken from the message
    stack.say(sender, "skip")
    stack.say(sender, "any time")
    done = stack.say(sender, "yes")
    assert custom_payloads(done, "lead")
    [row] = lead_rows(stack, sender)
    assert (row.name, row.phone_e164, row.email, row.contact_time) == (
        "Ana Ruiz",
        "+14158675310",
        None,
        "any time",
    )


def test_invalid_phone_is_re_asked_then_clinic_number_offered(stack: Stack) -> None:
    sender = new_sender()
    stack.say(sender, "can someone call me")
    stack.say(sender, "Sam")
    first = said(stack.say(sender, "12345"))
    assert "valid phone number" in first
    stack.say(sender, "my phone is broken")
    third = said(stack.say(sender, "555"))
    assert "(555) 010-0199" in third  # the clinic's configured number
    assert "email" in said(stack.say(sender, "415-867-5311")).lower()


def test_a_value_can_be_corrected(stack: Stack) -> None:
    sender = new_sender()
    stack.say(sender, "I want to book a consultation")
    stack.say(sender, "Chris")
    stack.say(sender, "415 867 5312")
    stack.say(sender, "skip")
    stack.say(sender, "evenings")
    corrected = said(stack.say(sender, "actually my number is 415 867 5313"))
    assert "(415) 867-5313" in corrected
    stack.say(sender, "yes")
    [row] = lead_rows(stack, sender)
    assert row.phone_e164 == "+14158675313"


def test_cancel_saves_nothing(stack: Stack) -> None:
    sender = new_sender()
    stack.say(sender, "I want to book a consultation")
    stack.say(sender, "Pat")
    assert "cancelled" in said(stack.say(sender, "cancel"))
    assert lead_rows(stack, sender) == []
    # the form is really over: a question is answered normally
    assert custom_payloads(stack.say(sender, "what are the side effects of ketamine"), "faq")


def test_no_consent_saves_nothing(stack: Stack) -> None:
    sender = new_sender()
    stack.say(sender, "please have someone contact me")
    stack.say(sender, "Robin")
    stack.say(sender, "415 867 5314")
    stack.say(sender, "skip")
    stack.say(sender, "any time")
    reply = stack.say(sender, "no")
    assert not custom_payloads(reply, "lead")
    assert "won't contact you" in said(reply)
    assert lead_rows(stack, sender) == []


def test_crisis_in_the_middle_of_the_form_wins(stack: Stack) -> None:
    sender = new_sender()
    stack.say(sender, "I want to book a consultation")
    stack.say(sender, "Alex")
    reply = stack.say(sender, "what's the point, i want to kill myself")
    assert "988" in texts(reply)[0] and "741741" in texts(reply)[0]
    assert custom_payloads(reply, "crisis")
    assert "phone number" not in said(reply)
    # no booking prompt comes back on its own
    after = stack.say(sender, "nvm")
    assert "phone number" not in said(after) and "988" in said(after)
    assert lead_rows(stack, sender) == []


def test_same_person_twice_updates_one_lead(stack: Stack) -> None:
    sender = new_sender()
    for contact_time in ("mornings", "afternoons"):
        stack.say(sender, "sign me up, my name is Kim Park and my number is 415 867 5315")
        stack.say(sender, "skip")
        stack.say(sender, contact_time)
        done = stack.say(sender, "yes")
        assert custom_payloads(done, "lead")
    [row] = lead_rows(stack, sender)
    assert row.submissions == 2 and row.contact_time == "afternoons"


def test_flooding_is_rate_limited(stack: Stack) -> None:
    sender = new_sender()
    replies = []
    for n in range(4):
        stack.say(sender, f"sign me up, my name is Flo Od and my number is 415 867 53{20 + n}")
        stack.say(sender, "skip")
        stack.say(sender, "any time")
        replies.append(stack.say(sender, "yes"))
    assert all(custom_payloads(r, "lead") for r in replies[:3])
    assert not custom_payloads(replies[3], "lead")
    assert "already have your request" in said(replies[3])
    assert len(lead_rows(stack, sender)) == 3


def test_talk_to_a_person(stack: Stack) -> None:
    sender = new_sender()
    reply = stack.say(sender, "I want to talk to a real person")
    handoff = custom_payloads(reply, "handoff")
    assert len(handoff) == 1, reply
    text = said(reply)
    assert "passed this conversation to our team" in text
    assert "office" in text  # honest about when staff will reply
    assert "phone number" in text  # asks for contact details when none is known
    with session_scope(stack.database_url) as session:
        row = session.get(Handoff, handoff[0]["handoff_id"])
        assert row.conversation_id == sender and row.reason == "asked for a person"
        assert session.scalars(
            select(Alert).where(Alert.kind == "handoff", Alert.ref_id == row.id)
        ).all()
    assert alerts_for(stack, f"Handoff #{handoff[0]['handoff_id']}")


def test_two_fallbacks_in_a_row_hand_off(stack: Stack) -> None:
    sender = new_sender()
    first = stack.say(sender, "can ketamine be taken while skydiving")
    assert custom_payloads(first, "fallback")
    second = stack.say(sender, "does ketamine work in zero gravity")
    assert custom_payloads(second, "handoff"), second
