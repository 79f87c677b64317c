""" "Did you mean…?" over REST against the real servers: choices, the answer picked, the record."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from bot.answers.suggestions import ranked_content_ids
from bot.store.db import session_scope
from bot.store.models import AnswerServed, UnansweredQuestion
from tests.conftest import Stack, custom_payloads

pytestmark = pytest.mark.e2e

# Vague questions; which of them the trained model is unsure about depends on the
# training data, so the fixture below asks /model/parse and uses those that are.
VAGUE = [
    "what about the sessions and stuff",
    "does ketamine help with tinnitus",
    "tell me more about the treatment thing",
    "and the cost side of it",
    "what happens with the whole process",
    "is it like the other ones",
]


@pytest.fixture(scope="module")
def uncertain(stack: Stack) -> list[str]:
    """The vague questions the model routes to "did you mean" (at least one must be)."""
    found = [t for t in VAGUE if stack.parse(t)["intent"]["name"] == "faq_uncertain"]
    assert found, [(t, stack.parse(t)["intent"]) for t in VAGUE]
    return found


def _offer(stack: Stack, text: str) -> tuple[str, list[dict], list[dict]]:
    sender = f"suggest-{uuid.uuid4().hex[:8]}"
    messages = stack.say(sender, text)
    return sender, messages, [b for m in messages for b in m.get("buttons", [])]


def _offers(stack: Stack, sender: str) -> list[UnansweredQuestion]:
    with session_scope(stack.database_url) as session:
        return list(
            session.scalars(
                select(UnansweredQuestion).where(UnansweredQuestion.conversation_id == sender)
            )
        )


def test_likely_items_are_offered_and_the_one_picked_is_answered(
    stack: Stack, uncertain: list[str]
) -> None:
    text = uncertain[0]
    sender, messages, buttons = _offer(stack, text)
    (payload,) = custom_payloads(messages, "suggestions")
    options = payload["options"]
    assert 2 <= len(options) <= 3
    assert [o["content_id"] for o in options] == ranked_content_ids(stack.parse(text))
    assert all(o["title"] and o["topic"] for o in options)
    # One button per option, titled with the item's title, then "None of these".
    assert [b["title"] for b in buttons] == [o["title"] for o in options] + ["None of these"]
    assert not custom_payloads(messages, "faq")

    picked = options[1]
    answer = stack.say(sender, buttons[1]["payload"])
    (faq,) = custom_payloads(answer, "faq")
    assert faq["content_id"] == picked["content_id"]
    (offer,) = _offers(stack, sender)
    assert offer.kind == "suggestions" and offer.text == text
    assert offer.offered.split(",") == [o["content_id"] for o in options]
    assert offer.chosen == picked["content_id"]
    with session_scope(stack.database_url) as session:
        served = session.scalars(
            select(AnswerServed.content_id).where(AnswerServed.conversation_id == sender)
        ).all()
    assert served == [picked["content_id"]]


def test_none_of_these_gets_the_honest_fallback_and_is_recorded(
    stack: Stack, uncertain: list[str]
) -> None:
    sender, _, buttons = _offer(stack, uncertain[-1])
    assert buttons[-1]["title"] == "None of these"
    reply = stack.say(sender, buttons[-1]["payload"])
    assert custom_payloads(reply, "fallback"), reply
    assert not custom_payloads(reply, "faq")
    (offer,) = _offers(stack, sender)
    assert offer.chosen == ""  # offered, and the person picked none


def test_sms_gets_numbered_choices_and_a_number_picks_one(
    stack: Stack, uncertain: list[str]
) -> None:
    """The SMS channel turns the buttons into "Reply 1 …" and understands the number."""
    from bot.channels.sms_text import pick_choice

    _, _, buttons = _offer(stack, uncertain[0])
    assert pick_choice("2", buttons) == buttons[1]["payload"]


@pytest.mark.parametrize("text", ["🙃", "🤡🤡🤡", "?!", "💊💉🌀✨", "42"])
def test_a_message_without_words_gets_no_answer_and_no_choices(stack: Stack, text: str) -> None:
    """Nothing in "🙃" says which item was meant: no guessed answer, no choices (the
    intent classifier may still read "👍" as a yes or "?!" as a refusal case)."""
    assert stack.parse(text)["intent"]["name"] not in ("faq", "faq_uncertain")
    reply = stack.say(f"nowords-{uuid.uuid4().hex[:8]}", text)
    assert any(m.get("text") for m in reply), reply
    assert not custom_payloads(reply, "suggestions") and not custom_payloads(reply, "faq")
