"""bot/answers/nlg.py: FAQ answers from the content store, never from the model or a guess."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
import yaml
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.importers.importer import TrainingDataImporter
from sqlalchemy import select

from bot.answers.content_store import load_content, read_content
from bot.answers.nlg import ContentNaturalLanguageGenerator
from bot.channels.sms_text import pick_choice, render_turn
from bot.config import CONTENT_DIR, PROJECT_ROOT, SMS_CHANNEL, get_settings
from bot.store.models import AnswerServed, UnansweredQuestion

# The domain as Rasa trains it: domain.yml plus the generated FAQ responses.
DOMAIN = TrainingDataImporter.load_from_dict(
    domain_path=str(PROJECT_ROOT / "domain.yml"),
    training_data_paths=[str(PROJECT_ROOT / "data")],
).get_domain()


def generate(
    content_id: str, channel: str = "rest", related: list[str] | None = None
) -> dict | None:
    parse = {
        "intent": {"name": "faq", "confidence": 0.9},
        "response_selector": {
            "faq": {"response": {"intent_response_key": f"faq/{content_id}", "confidence": 0.8}}
        },
    }
    if related:
        parse["faq_related"] = related  # the ContentSelector's runner-ups
    tracker = DialogueStateTracker.from_events(
        "nlg-test",
        [UserUttered("what are the side effects", parse_data=parse, input_channel=channel)],
        DOMAIN.slots,
    )
    nlg = ContentNaturalLanguageGenerator(domain=DOMAIN)
    return asyncio.run(nlg.generate(f"utter_faq/{content_id}", tracker, channel))


@pytest.fixture
def content(database):  # type: ignore[no-untyped-def]
    with database() as session:
        load_content(session, read_content()[0])
    return database


def test_answer_comes_from_the_database_and_is_recorded(content) -> None:  # type: ignore[no-untyped-def]
    message = generate("side_effects_common")
    assert message is not None
    assert message["custom"]["type"] == "faq"
    assert message["custom"]["content_id"] == "side_effects_common"
    assert message["custom"]["sources"]
    # one message: one line per paragraph or bullet, no blank line (Rasa's REST collector
    # would split it into one message per paragraph), and one short "limits" line
    assert message["text"].endswith(
        "\nGeneral information, not medical advice; whether it's right for you is decided "
        "by a clinician at a consultation."
    )
    assert "\n\n" not in message["text"] and "\n- " in message["text"]
    with content() as session:
        served = session.scalars(select(AnswerServed)).all()
    assert [(r.content_id, r.channel, r.confidence) for r in served] == [
        ("side_effects_common", "rest", 0.8)
    ]


def test_the_booking_answer_offers_the_call_back_form(content) -> None:  # type: ignore[no-untyped-def]
    """The button comes from the booking item's `buttons:` field, via the database."""
    booking = generate("clinic_and_booking_first_consultation")
    assert booking is not None
    assert booking["buttons"] == [
        {"title": "Request a call-back", "payload": "/request_consultation"}
    ]
    assert booking["custom"]["version"] == 2  # the version that added the button
    other = generate("side_effects_common")
    assert other is not None and "buttons" not in other


def test_any_item_serves_its_own_buttons(database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, folder)
    path = folder / "side_effects_common.yml"
    data = yaml.safe_load(path.read_text())
    data["buttons"] = [{"title": "Talk to a person", "intent": "request_human"}]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with database() as session:
        load_content(session, read_content(folder)[0])
    message = generate("side_effects_common")
    assert message is not None
    assert message["buttons"] == [{"title": "Talk to a person", "payload": "/request_human"}]
    assert "buttons" not in message["custom"]  # the SPEC section 4 payload is unchanged


def test_a_not_quite_certain_answer_offers_the_runner_ups_after_its_own_buttons(content) -> None:  # type: ignore[no-untyped-def]
    message = generate(
        "clinic_and_booking_first_consultation", related=["cost_and_insurance_prices"]
    )
    assert message is not None
    titles = [b["title"] for b in message["buttons"]]
    prices = next(i for i in read_content()[0] if i.id == "cost_and_insurance_prices")
    assert titles == ["Request a call-back", prices.title]
    assert message["buttons"][1]["payload"] == (
        '/faq_choose{"content_id": "cost_and_insurance_prices"}'
    )
    assert message["custom"]["type"] == "faq"
    assert [o["content_id"] for o in message["custom"]["related"]] == ["cost_and_insurance_prices"]
    assert message["text"].endswith("Not quite what you asked? You can pick one of these instead.")
    # On SMS each is a numbered choice, and the number picks it.
    settings = get_settings()
    on_sms = generate("side_effects_common", SMS_CHANNEL, ["preparation_fasting"])
    assert on_sms is not None
    turn = render_turn(
        [on_sms], max_chars=settings.sms_max_chars, max_segments=settings.sms_max_segments
    )
    fasting = next(i for i in read_content()[0] if i.id == "preparation_fasting")
    assert turn.bodies[-1].endswith(f"\nReply 1 for {fasting.title}.")
    assert pick_choice("1", turn.choices) == '/faq_choose{"content_id": "preparation_fasting"}'


def test_on_sms_the_call_back_is_a_numbered_choice(content) -> None:  # type: ignore[no-untyped-def]
    message = generate("clinic_and_booking_first_consultation", SMS_CHANNEL)
    assert message is not None
    settings = get_settings()
    turn = render_turn(
        [message], max_chars=settings.sms_max_chars, max_segments=settings.sms_max_segments
    )
    assert turn.bodies[-1].endswith("\nReply 1 for Request a call-back.")
    assert all(len(body) <= settings.sms_max_chars for body in turn.bodies)
    assert pick_choice("1", turn.choices) == "/request_consultation"


def test_sms_gets_the_short_answer(content) -> None:  # type: ignore[no-untyped-def]
    message = generate("side_effects_common", SMS_CHANNEL)
    assert message is not None and message["text"].endswith("General info, not medical advice.")


def test_unknown_item_falls_back_and_is_logged(content) -> None:  # type: ignore[no-untyped-def]
    message = generate("retired_item")
    assert message is not None and message["custom"]["type"] == "fallback"
    assert "don't want to guess" in message["text"]
    with content() as session:
        assert len(session.scalars(select(UnansweredQuestion)).all()) == 1
        assert session.scalars(select(AnswerServed)).all() == []


def test_database_failure_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A database without the project's tables: every query fails.
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    try:
        message = generate("side_effects_common")
    finally:
        get_settings.cache_clear()
    assert message is not None and "can't look that answer up" in message["text"]


def test_other_responses_come_from_the_domain(content) -> None:  # type: ignore[no-untyped-def]
    tracker = DialogueStateTracker.from_events("nlg-test", [], DOMAIN.slots)
    nlg = ContentNaturalLanguageGenerator(domain=DOMAIN)
    message = asyncio.run(nlg.generate("utter_greet", tracker, "rest"))
    assert message is not None and message["text"].startswith("Hi! I can answer questions")


# --- the crisis reply records the escalation in the Rasa server ---------------------


def crisis_tracker(text: str = "i want to die") -> DialogueStateTracker:
    parse = {
        "intent": {"name": "crisis", "confidence": 1.0},
        "crisis": {"intent": "crisis", "detected_by": "pattern:test"},
    }
    return DialogueStateTracker.from_events(
        "nlg-crisis",
        [UserUttered(text, parse_data=parse, input_channel="rest", message_id="m-1")],
        DOMAIN.slots,
    )


def test_crisis_reply_records_the_escalation_and_carries_its_id(settings_with_webhook) -> None:  # type: ignore[no-untyped-def]
    from bot.store.db import session_scope
    from bot.store.models import Alert, Escalation

    nlg = ContentNaturalLanguageGenerator(domain=DOMAIN)
    message = asyncio.run(nlg.generate("utter_crisis", crisis_tracker(), "rest"))
    assert message is not None and "988" in message["text"]
    assert message["custom"]["type"] == "crisis" and message["custom"]["escalation_id"]
    # rendered again for the same message (a retry): the same escalation
    again = asyncio.run(nlg.generate("utter_crisis", crisis_tracker(), "rest"))
    assert (
        again is not None and again["custom"]["escalation_id"] == message["custom"]["escalation_id"]
    )
    with session_scope() as session:
        [escalation] = session.scalars(select(Escalation)).all()
        assert (escalation.message_text, escalation.detected_by) == (
            "i want to die",
            "pattern:test",
        )
        assert len(session.scalars(select(Alert)).all()) == 1


def test_crisis_reply_is_sent_when_the_database_fails_and_recorded_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.answers import crisis
    from bot.store.db import init_db, session_scope
    from bot.store.models import Escalation

    url = f"sqlite:///{tmp_path / 'later.db'}"
    monkeypatch.setenv("DATABASE_URL", url)  # no tables yet: every write fails
    monkeypatch.setattr(crisis, "RETRY_FIRST_SECONDS", 0.2)
    get_settings.cache_clear()

    async def scenario() -> dict | None:
        nlg = ContentNaturalLanguageGenerator(domain=DOMAIN)
        message = await nlg.generate("utter_crisis", crisis_tracker(), "rest")
        assert crisis.pending_retries() == 1
        init_db(url)  # the database is back
        for _ in range(50):
            await asyncio.sleep(0.1)
            if not crisis.pending_retries():
                break
        return message

    try:
        message = asyncio.run(scenario())
        assert message is not None and "988" in message["text"]
        assert "escalation_id" not in message["custom"]  # not recorded in time: text anyway
        with session_scope(url) as session:
            [escalation] = session.scalars(select(Escalation)).all()
            assert escalation.message_text == "i want to die"
    finally:
        get_settings.cache_clear()


def test_clinic_facts_come_from_configuration(content) -> None:  # type: ignore[no-untyped-def]
    tracker = DialogueStateTracker.from_events("nlg-test", [], DOMAIN.slots)  # slots: defaults
    nlg = ContentNaturalLanguageGenerator(domain=DOMAIN)
    message = asyncio.run(nlg.generate("utter_goodbye", tracker, "rest"))
    assert message is not None and get_settings().clinic.phone in message["text"]


def test_a_pick_from_under_an_answer_is_answered_and_recorded(content) -> None:  # type: ignore[no-untyped-def]
    question = {
        "intent": {"name": "faq", "confidence": 0.9},
        "response_selector": {
            "faq": {
                "response": {"intent_response_key": "faq/side_effects_common", "confidence": 0.6}
            }
        },
        "faq_related": ["side_effects_dissociation"],
    }
    pick = {
        "intent": {"name": "faq_choose", "confidence": 1.0},
        "entities": [{"entity": "content_id", "value": "side_effects_dissociation"}],
    }
    tracker = DialogueStateTracker.from_events(
        "nlg-pick",
        [
            UserUttered("feel weird after?", parse_data=question, input_channel="rest"),
            UserUttered(
                '/faq_choose{"content_id": "side_effects_dissociation"}',
                parse_data=pick,
                input_channel="rest",
            ),
        ],
        DOMAIN.slots,
    )
    nlg = ContentNaturalLanguageGenerator(domain=DOMAIN)
    message = asyncio.run(nlg.generate("utter_faq_chosen", tracker, "rest"))
    assert message is not None and message["custom"]["content_id"] == "side_effects_dissociation"
    with content() as session:
        rows = session.scalars(select(UnansweredQuestion)).all()
    assert [(r.kind, r.text, r.offered, r.chosen, r.confidence) for r in rows] == [
        (
            "related",
            "feel weird after?",
            "side_effects_dissociation",
            "side_effects_dissociation",
            0.6,
        )
    ]
