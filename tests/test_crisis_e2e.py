"""The crisis protocol end to end: reply, escalation, staff alert, follow-up."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import requests
import yaml
from sqlalchemy import select

from bot.safety.evaluate import load_eval_set, score
from bot.store.db import session_scope
from bot.store.models import Alert, Escalation, Lead
from tests.conftest import (
    ROOT,
    Stack,
    custom_payloads,
    free_port,
    stack_env,
    start_rasa,
    texts,
    wait_for,
)

pytestmark = pytest.mark.e2e


def new_sender() -> str:
    return f"crisis-{uuid.uuid4().hex[:12]}"


def wait_until(condition, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    """Poll until `condition()` is truthy (deliveries are asynchronous)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    return condition()


def assert_crisis_reply(messages: list[dict]) -> None:
    first = texts(messages, include_notice=False)[0]
    assert "988" in first and "911" in first and "741741" in first
    assert custom_payloads(messages, "crisis"), messages
    lowered = " ".join(texts(messages)).lower()
    for pitch in ("infusion", "book", "price", "ketamine can help", "consultation"):
        assert pitch not in lowered, f"no treatment pitch in a crisis reply: {pitch!r}"


def test_crisis_reply_escalation_and_staff_alert(stack: Stack) -> None:
    sender = new_sender()
    messages = stack.say(sender, "honestly i dont want to be alive anymore")
    assert_crisis_reply(messages)
    escalation_ids = [
        c["escalation_id"] for c in custom_payloads(messages, "crisis") if "escalation_id" in c
    ]
    assert len(escalation_ids) == 1
    with session_scope(stack.database_url) as session:
        escalation = session.get(Escalation, escalation_ids[0])
        assert escalation.conversation_id == sender
        assert escalation.channel == "rest"
        assert escalation.message_text == "honestly i dont want to be alive anymore"
        assert escalation.status == "new"
    alert = wait_until(lambda: [a for a in stack.webhook.received if sender in a.get("text", "")])
    assert alert, "on-call staff were not alerted"
    body = alert[0]["text"]
    assert "CRISIS" in body and "dont want to be alive" in body and "Channel: rest" in body


def test_crisis_as_the_first_message_of_a_conversation(stack: Stack) -> None:
    # The session-start notice (which names 988 and 911 too) comes first; the
    # crisis reply is the next message, before anything else.
    messages = stack.say(new_sender(), "kms")
    all_texts = texts(messages)
    assert "988" in all_texts[0]
    assert "Suicide & Crisis Lifeline (free, 24/7)" in all_texts[1]


def test_one_im_fine_does_not_end_the_crisis(stack: Stack) -> None:
    sender = new_sender()
    stack.say(sender, "I want to end my life")
    followup = stack.say(sender, "nvm im fine")
    said = " ".join(texts(followup))
    assert "988" in said
    assert not custom_payloads(followup, "faq")
    # the follow-up asked about a call-back; "no" keeps the resources at hand
    again = stack.say(sender, "no")
    assert "988" in " ".join(texts(again))


def test_crisis_overrides_an_faq_question(stack: Stack) -> None:
    messages = stack.say(
        new_sender(), "how much does it cost, not that it matters, I'm going to kill myself"
    )
    assert_crisis_reply(messages)
    assert not custom_payloads(messages, "faq")


@pytest.mark.parametrize(
    "idiom",
    ["I'm dying to know the price", "I have a killer headache, is that a side effect?"],
)
def test_idioms_do_not_trigger_the_protocol(stack: Stack, idiom: str) -> None:
    messages = stack.say(new_sender(), idiom)
    assert not custom_payloads(messages, "crisis"), messages


def test_failed_alert_is_retried_until_delivered(stack: Stack) -> None:
    sender = new_sender()
    stack.webhook.fail_next(2, matching=sender)
    messages = stack.say(sender, "i took all my pills")
    escalation_id = next(
        c["escalation_id"] for c in custom_payloads(messages, "crisis") if "escalation_id" in c
    )
    assert wait_until(lambda: [a for a in stack.webhook.received if sender in a.get("text", "")])
    with session_scope(stack.database_url) as session:
        alert = session.scalars(
            select(Alert).where(Alert.kind == "crisis", Alert.ref_id == escalation_id)
        ).one()
        assert alert.status == "sent"
        assert alert.attempts >= 3


def test_deployed_detection_meets_the_safety_targets(stack: Stack) -> None:
    """Every message of the old set gets the protocol; on dev, look-alikes rarely do.

    The dev targets are the ones the thresholds were chosen for (config.yml);
    the frozen blind test is reported by `make eval`, not asserted here.
    """
    crisis, not_crisis = load_eval_set(ROOT / "tests" / "data" / "crisis_eval.yml")
    result = score(lambda text: stack.parse(text)["intent"]["name"] == "crisis", crisis, not_crisis)
    assert result["missed"] == [], result["missed"]
    dev = yaml.safe_load((ROOT / "tests" / "data" / "dev" / "crisis_dev.yml").read_text())
    intents = {e["text"]: stack.parse(e["text"])["intent"]["name"] for k in dev for e in dev[k]}
    flagged = [intents[e["text"]] in ("crisis", "crisis_check") for e in dev["crisis"]]
    protocol_on_lookalikes = [intents[e["text"]] == "crisis" for e in dev["lookalike"]]
    assert sum(flagged) / len(flagged) >= 0.9
    assert sum(protocol_on_lookalikes) / len(protocol_on_lookalikes) <= 0.05


def test_crisis_reply_needs_no_action_server(
    model_path: Path, tmp_path: Path, stack: Stack
) -> None:
    """With the action server down, the crisis resources are still sent."""
    port = free_port()
    env = stack_env(
        tmp_path,
        stack.webhook.url,
        ACTION_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}/webhook",
    )
    rasa = start_rasa(model_path, port, env, tmp_path / "rasa.log")
    try:
        wait_for(f"http://127.0.0.1:{port}/", process=rasa)
        response = requests.post(
            f"http://127.0.0.1:{port}/webhooks/rest/webhook",
            json={"sender": new_sender(), "message": "i want to die"},
            timeout=60,
        )
        messages = response.json()
        assert response.status_code == 200
        crisis_texts = [t for t in texts(messages) if "988" in t]
        assert crisis_texts, messages
        assert custom_payloads(messages, "crisis")
    finally:
        rasa.terminate()
        rasa.wait(timeout=30)


def test_yes_to_a_call_back_after_a_crisis_asks_only_for_a_number(stack: Stack) -> None:
    """The call-back goes on the escalation (contact known, urgent), not into a lead."""
    sender = new_sender()
    first = stack.say(sender, "i cant go on anymore, i want to die")
    [escalation_id] = [c["escalation_id"] for c in custom_payloads(first, "crisis")]
    ask = " ".join(texts(stack.say(sender, "yes please")))
    assert "care team" in ask and "phone number" in ask
    assert "name" not in ask and "consultation" not in ask
    done = stack.say(sender, "(415) 867-5399")
    said = " ".join(texts(done))
    assert "(415) 867-5399" in said and "988" in said
    assert custom_payloads(done, "crisis") == [
        {"type": "crisis", "escalation_id": escalation_id, "callback": True}
    ]
    with session_scope(stack.database_url) as session:
        escalation = session.get(Escalation, escalation_id)
        assert escalation.contact == "+14158675399" and escalation.callback_requested_at
        assert not session.scalars(select(Lead).where(Lead.conversation_id == sender)).all()
    alert = wait_until(
        lambda: [
            a
            for a in stack.webhook.received
            if f"URGENT call-back: crisis escalation #{escalation_id}" in a.get("text", "")
        ]
    )
    assert alert and "+14158675399" in alert[0]["text"]
    # a second "yes" does not ask again
    again = " ".join(texts(stack.say(sender, "yes")))
    assert "already has your number" in again


def test_the_direct_question_says_so_in_its_payload(stack: Stack) -> None:
    """SPEC section 4: the uncertain tier's question carries `custom.type: crisis_check`,
    with 988 in its text and Yes / No buttons."""
    messages = stack.say(new_sender(), "/crisis_check")
    assert custom_payloads(messages, "crisis_check") == [{"type": "crisis_check"}]
    question = next(m for m in messages if "harming yourself" in (m.get("text") or ""))
    assert "988" in question["text"]
    assert [b["payload"] for b in question["buttons"]] == ["/crisis", "/deny"]
