"""The content lint, the generated training data and the database copy of content."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.answers.content_store import (
    BUTTON_INTENTS,
    TOPICS,
    check_content,
    current_item,
    load_content,
    read_content,
    render_training_data,
)
from bot.config import CONTENT_DIR, get_settings
from bot.store.db import init_db, session_scope

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 23)
GOOD_ID = "how_it_works_mechanism"
BOOKING_ID = "clinic_and_booking_first_consultation"
CALL_BACK = {"title": "Request a call-back", "intent": "request_consultation"}
PERSON = {"title": "Talk to a person", "intent": "request_human"}


def test_real_content_passes_the_check() -> None:
    items, problems = check_content(today=TODAY, max_review_age_days=365)
    assert problems == []
    approved = [item for item in items if item.approved]
    assert len(approved) >= 40
    for topic in TOPICS:
        assert sum(item.topic == topic for item in approved) >= 2, topic
    for item in approved:
        assert len(set(item.questions)) >= 8, item.id
        assert item.sources and item.answer_web and item.answer_sms


def test_check_command_exits_zero_on_real_content() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "content", "check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "content check passed" in result.stdout


def test_generated_training_data_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "content", "build", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    """A copy of the real content folder that a test may break."""
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target)
    return target


def _edit(folder: Path, content_id: str, **changes: object) -> None:
    path = folder / f"{content_id}.yml"
    data = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _problems(folder: Path) -> list[str]:
    return check_content(folder, today=TODAY, max_review_age_days=365)[1]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"sources": None}, "missing field 'sources'"),
        ({"reviewed_by": None}, "missing field 'reviewed_by'"),
        ({"answer_sms": None}, "missing field 'answer_sms'"),
        ({"reviewed_on": "2024-01-02"}, "older than 365 days"),
        ({"reviewed_on": "2027-01-01"}, "in the future"),
        ({"topic": "miracles"}, "unknown topic 'miracles'"),
        ({"status": "published"}, "status must be one of"),
        ({"sources": ["web"]}, "full citation"),
        ({"questions": ["what is ketamine?"] * 9}, "at least 8 different questions"),
        ({"answer_web": "Ketamine is non-addictive."}, "forbidden claim 'non_addictive'"),
        ({"answer_web": "Relief is guaranteed."}, "forbidden claim 'guaranteed'"),
        ({"answer_web": "It has no side effects."}, "forbidden claim 'no_side_effects'"),
        ({"answer_web": "It is safe for everyone."}, "forbidden claim 'safe_for_everyone'"),
        ({"answer_web": "Ketamine can cure depression."}, "forbidden claim 'cure'"),
        ({"answer_web": "It works to reset the brain."}, "forbidden claim 'reset_the_brain'"),
        ({"answer_sms": "Call {clinic_fax} today."}, "unknown placeholders ['clinic_fax']"),
        ({"answer_sms": "x" * 301}, "answer_sms is 301 characters"),
        ({"id": "something_else"}, "must equal the file name"),
        (
            {"buttons": [{"title": "Book now", "intent": "faq"}]},
            "button 1 has unknown intent 'faq'",
        ),
        ({"buttons": [PERSON, {"title": "Go", "intent": "greet"}]}, "button 2 has unknown intent"),
        ({"buttons": [{"intent": "request_consultation"}]}, "button 1 has no title"),
        ({"buttons": [{"title": " ", "intent": "request_human"}]}, "button 1 has no title"),
        (
            {"buttons": [{"title": "x" * 41, "intent": "request_human"}]},
            "longer than 40 characters",
        ),
        (
            {"buttons": [CALL_BACK, {**PERSON, "title": "request A CALL-BACK"}]},
            "2 buttons have the same title 'Request a call-back'",
        ),
        (
            {"buttons": [CALL_BACK, {**CALL_BACK, "title": "Book a consultation"}]},
            "2 buttons have the same intent 'request_consultation'",
        ),
        (
            {"buttons": [{"title": "Call {clinic_name}", "intent": "request_human"}]},
            "button 1 title must not contain braces",
        ),
        (
            {"buttons": [{"title": "Book your cure", "intent": "request_consultation"}]},
            "button 1 title makes a forbidden claim 'cure'",
        ),
        ({"buttons": "Request a call-back"}, "buttons must be a list"),
        ({"buttons": [{**CALL_BACK, "payload": "/affirm"}]}, "buttons must be a list"),
    ],
)
def test_check_rejects_each_rule(content_copy: Path, changes: dict, expected: str) -> None:
    _edit(content_copy, GOOD_ID, **changes)
    problems = _problems(content_copy)
    assert any(expected in problem for problem in problems), problems


def test_buttons_within_the_rules_pass(content_copy: Path) -> None:
    _edit(content_copy, GOOD_ID, buttons=[{**CALL_BACK, "title": "x" * 40}, PERSON])
    assert _problems(content_copy) == []
    [item] = [i for i in read_content(content_copy)[0] if i.id == GOOD_ID]
    assert [b.as_dict() for b in item.buttons] == [{**CALL_BACK, "title": "x" * 40}, PERSON]


def test_button_intents_are_flows_the_bot_has() -> None:
    """A button sends `/<intent>`: each allowed intent is in the domain, with a rule."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    rules = (ROOT / "data" / "rules" / "leads.yml").read_text()
    for intent in BUTTON_INTENTS:
        assert intent in domain["intents"], intent
        assert f"- intent: {intent}\n" in rules, intent


def test_the_booking_item_offers_the_call_back() -> None:
    [booking] = [item for item in read_content()[0] if item.id == BOOKING_ID]
    assert [b.as_dict() for b in booking.buttons] == [CALL_BACK]


def test_not_a_cure_is_allowed(content_copy: Path) -> None:
    _edit(content_copy, GOOD_ID, answer_web="Ketamine is not a cure, and not everyone responds.")
    assert _problems(content_copy) == []


def test_question_shared_between_items_is_rejected(content_copy: Path) -> None:
    other = yaml.safe_load((content_copy / "side_effects_common.yml").read_text())
    mine = yaml.safe_load((content_copy / f"{GOOD_ID}.yml").read_text())
    _edit(content_copy, GOOD_ID, questions=[*mine["questions"], other["questions"][0]])
    assert any("is also in" in p for p in _problems(content_copy))


def test_topic_needs_two_approved_items(content_copy: Path) -> None:
    for path in content_copy.glob("cost_and_insurance_*.yml"):
        _edit(content_copy, path.stem, status="draft")
    assert any("topic 'cost_and_insurance' has 0 approved" in p for p in _problems(content_copy))


def test_check_command_fails_with_a_message_per_problem(content_copy: Path) -> None:
    _edit(content_copy, GOOD_ID, sources=None)
    _edit(content_copy, "side_effects_common", answer_web="Ketamine has no side effects.")
    items, problems = check_content(content_copy, today=TODAY, max_review_age_days=365)
    assert len(problems) == 2


def test_answer_text_is_not_part_of_training_data(content_copy: Path) -> None:
    before = render_training_data(read_content(content_copy)[0])
    _edit(content_copy, GOOD_ID, answer_web="A reworded answer.", answer_sms="Reworded.")
    after = render_training_data(read_content(content_copy)[0])
    assert before == after


def test_only_approved_items_are_trained(content_copy: Path) -> None:
    _edit(content_copy, GOOD_ID, status="draft")
    generated = render_training_data(read_content(content_copy)[0])
    assert f"faq/{GOOD_ID}" not in generated
    assert "faq/side_effects_common" in generated


def test_load_versions_and_retire(content_copy: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'content.db'}"
    init_db(url)
    items = read_content(content_copy)[0]
    with session_scope(url) as session:
        counts = load_content(session, items)
    assert counts["added"] == len(items)
    with session_scope(url) as session:
        row = current_item(session, GOOD_ID)
        assert row is not None and row.version == 1

    _edit(content_copy, GOOD_ID, version=2, answer_web="Version two of the answer.")
    (content_copy / "side_effects_common.yml").unlink()
    with session_scope(url) as session:
        counts = load_content(session, read_content(content_copy)[0])
    assert counts == {"added": 1, "unchanged": len(items) - 2, "retired": 1}
    with session_scope(url) as session:
        row = current_item(session, GOOD_ID)
        assert row.version == 2 and row.answer_web == "Version two of the answer."
        assert current_item(session, "side_effects_common") is None

    _edit(content_copy, GOOD_ID, version=3, status="retired")
    with session_scope(url) as session:
        load_content(session, read_content(content_copy)[0])
        assert current_item(session, GOOD_ID) is None


def test_loaded_buttons_come_back_from_the_database(content_copy: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'content.db'}"
    init_db(url)
    with session_scope(url) as session:
        load_content(session, read_content(content_copy)[0])
    with session_scope(url) as session:
        assert current_item(session, BOOKING_ID).buttons == [CALL_BACK]
        assert current_item(session, GOOD_ID).buttons == []

    # buttons changed in place (same version): the row is updated, not added
    _edit(content_copy, GOOD_ID, buttons=[PERSON])
    with session_scope(url) as session:
        counts = load_content(session, read_content(content_copy)[0])
    assert counts["updated"] == 1 and "added" not in counts
    with session_scope(url) as session:
        assert current_item(session, GOOD_ID).buttons == [PERSON]


def test_clinic_facts_come_from_configuration() -> None:
    items = read_content()[0]
    settings = get_settings()
    for item in items:
        for text in (item.answer_web, item.answer_sms):
            assert settings.clinic.phone not in text
            assert "$" not in text, f"{item.id}: prices must be placeholders"
