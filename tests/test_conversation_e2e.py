"""End to end over the REST channel against the real Rasa and action servers."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from bot.store.db import session_scope
from bot.store.models import AnswerServed, UnansweredQuestion
from tests.conftest import Stack, custom_payloads, texts

pytestmark = pytest.mark.e2e


def new_sender() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def test_first_turn_has_the_notice_and_a_greeting(stack: Stack) -> None:
    messages = stack.say(new_sender(), "hello")
    said = " ".join(texts(messages))
    assert "not medical advice" in said
    assert "Test Valley Ketamine Clinic" in said  # clinic name from configuration
    assert "988" in said and "911" in said
    assert "ketamine" in texts(messages)[-1].lower()


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("what are the side effects of ketamine treatment", "side_effects"),
        ("how much does a ketamine infusion cost", "cost_and_insurance"),
        ("is ketamine addictive", "abuse_and_long_term_risks"),
        ("what's the difference between spravato and iv ketamine", "esketamine_vs_ketamine"),
    ],
)
def test_faq_answer_carries_its_content_payload(stack: Stack, question: str, topic: str) -> None:
    sender = new_sender()
    messages = stack.say(sender, question)
    faq = custom_payloads(messages, "faq")
    assert len(faq) == 1, messages
    payload = faq[0]
    assert payload["topic"] == topic
    assert payload["version"] >= 1
    assert len(payload["reviewed_on"]) == 10 and payload["reviewed_on"][4] == "-"
    assert payload["sources"] and all(len(s) > 20 for s in payload["sources"])
    answer = " ".join(texts(messages))
    assert "not medical advice" in answer
    assert "{" not in answer, "placeholders must be filled from configuration"

    with session_scope(stack.database_url) as session:
        rows = session.scalars(
            select(AnswerServed).where(AnswerServed.conversation_id == sender)
        ).all()
    assert [(r.content_id, r.version) for r in rows] == [
        (payload["content_id"], payload["version"])
    ]
    assert rows[0].channel == "rest" and rows[0].served_at is not None


def test_clinic_prices_come_from_configuration(stack: Stack) -> None:
    messages = stack.say(new_sender(), "how much does a ketamine infusion cost")
    assert "$450 per infusion" in " ".join(texts(messages))


def test_unanswerable_question_gets_an_honest_fallback_and_is_logged(stack: Stack) -> None:
    sender = new_sender()
    messages = stack.say(sender, "is ketamine kosher")
    assert custom_payloads(messages, "fallback"), messages
    assert not custom_payloads(messages, "faq")
    buttons = [b["title"] for m in messages for b in m.get("buttons", [])]
    assert any("person" in title.lower() for title in buttons)
    with session_scope(stack.database_url) as session:
        logged = session.scalars(
            select(UnansweredQuestion).where(UnansweredQuestion.conversation_id == sender)
        ).all()
    assert [row.text for row in logged] == ["is ketamine kosher"]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("how many mg of ketamine should I take for my depression", "can't give dosing advice"),
        ("where can I buy ketamine without a prescription", "outside a medical setting"),
        ("how do I get high on ketamine at a party", "recreational"),
    ],
)
def test_unsafe_requests_are_refused_with_a_referral(
    stack: Stack, message: str, expected: str
) -> None:
    messages = stack.say(new_sender(), message)
    assert not custom_payloads(messages, "faq"), messages
    said = " ".join(texts(messages))
    assert expected in said
    assert "mg/kg" not in said


def test_bot_says_it_is_automated(stack: Stack) -> None:
    messages = stack.say(new_sender(), "am I talking to a real person?")
    assert "automated assistant" in texts(messages)[-1]


def test_thanks_and_goodbye(stack: Stack) -> None:
    sender = new_sender()
    stack.say(sender, "hi")
    assert "welcome" in " ".join(texts(stack.say(sender, "thanks so much"))).lower()
    assert "take care" in " ".join(texts(stack.say(sender, "bye"))).lower()
