"""How `make eval` reads a parse as what the person gets (bot/quality/evaluation.py)."""

from __future__ import annotations

from bot.nlu.content_selector import answer_intent
from bot.quality.evaluation import (
    EvalSet,
    Outcome,
    outcome,
    refused,
    rethresholded,
    score,
    served_item,
)


def _parse(intent: str, content_id: str | None = None) -> dict:
    parse: dict = {"intent": {"name": intent, "confidence": 0.9}, "text": "x"}
    if content_id:
        parse["response_selector"] = {
            "faq": {"response": {"intent_response_key": f"faq/{content_id}", "confidence": 0.9}}
        }
    return parse


def test_the_outside_clinic_refusal_serves_its_item_and_that_item_refuses() -> None:
    outside = "abuse_and_long_term_risks_outside_clinic"
    assert served_item(outcome(_parse("ask_obtain_ketamine"))) == outside
    assert refused(Outcome("answer", outside))
    # Any other answer is neither a refusal nor served by one.
    assert not refused(Outcome("answer", "side_effects_common"))
    assert served_item(outcome(_parse("ask_personal_dose"))) is None


def test_the_consultation_form_answers_a_booking_question_but_not_the_reverse() -> None:
    booking = "clinic_and_booking_first_consultation"
    faq = {"text": "book consult", "topic": "clinic_and_booking", "content_id": booking}
    contact = {"text": "schedule me", "expect": "consultation"}
    eval_set = EvalSet("t", faq=[faq], contact=[contact])
    parsed = {"book consult": _parse("request_consultation"), "schedule me": _parse("faq", booking)}
    result = score(eval_set, parsed)
    assert result["faq"]["right_topic"] == 1.0
    assert result["faq"]["right_item_or_suggested"] == 1.0
    # A contact request must start the form itself: the booking answer is not that.
    assert result["contact"]["right_flow"] == 0.0


def test_the_answer_sweep_re_decides_only_what_the_content_selector_decided() -> None:
    faq = _parse("faq", "side_effects_common")  # selector confidence 0.9
    assert rethresholded("x", faq, 0.95, 0.3)["intent"]["name"] == "faq_uncertain"
    assert rethresholded("x", faq, 0.5, 0.3)["intent"]["name"] == "faq"
    # A crisis tier or another intent is left alone, whatever the thresholds.
    crisis = {**faq, "intent": {"name": "crisis", "confidence": 1.0}}
    assert rethresholded("x", crisis, 0.95, 0.3) is crisis
    assert rethresholded("x", _parse("greet"), 0.95, 0.3)["intent"]["name"] == "greet"


def test_a_message_without_a_word_is_never_matched_to_an_item() -> None:
    assert answer_intent(0.99, "side effects?", 0.5, 0.3) == "faq"
    assert answer_intent(0.4, "side effects?", 0.5, 0.3) == "faq_uncertain"
    assert answer_intent(0.1, "side effects?", 0.5, 0.3) == "nlu_fallback"
    for text in ("🙃", "🤡🤡🤡", "?!", "💊💉 ...", "___", "42"):
        assert answer_intent(0.99, text, 0.5, 0.3) == "nlu_fallback", text
    assert answer_intent(0.99, "¿dónde están?", 0.5, 0.3) == "faq"


def test_everyday_turns_are_scored_by_what_was_done_with_them() -> None:
    everyday = [
        {"text": "hey, Sam here", "category": "greeting"},
        {"text": "peace out", "category": "goodbye"},
        {"text": "one sec", "category": "filler"},
        {"text": "Dana Whitfield", "category": "bare_detail"},
        {"text": "lol", "category": "filler"},
    ]
    parsed = {
        "hey, Sam here": _parse("greet"),
        "peace out": _parse("crisis_check"),  # a crisis tier on a goodbye
        "one sec": _parse("nlu_fallback"),  # nothing done: harmless
        "Dana Whitfield": _parse("request_consultation"),  # the form, pre-filled: allowed
        "lol": _parse("request_human"),  # a handoff nobody asked for
    }
    result = score(EvalSet("t", everyday=everyday), parsed)["everyday"]
    # Only greetings, thanks, goodbyes, yes, no and bot questions have a meant intent.
    assert result["as_meant"] == 0.5
    assert result["wrong_action"] == 2 / 5
    assert {m[0] for m in result["misses"]} == {"peace out", "lol"}


def test_an_answer_below_related_below_offers_the_likely_runner_ups() -> None:
    from bot.nlu.content_selector import related_ids

    ranking = [("faq/a", 0.55), ("faq/b", 0.3), ("faq/c", 0.08), ("faq/d", 0.04)]
    assert related_ids(ranking, 0.7, 0.05) == ["b", "c"]  # at most two, best first
    assert related_ids(ranking, 0.7, 0.1) == ["b"]  # unlikely ones are not offered
    assert related_ids(ranking, 0.5, 0.05) == []  # a sure enough answer offers nothing
    assert related_ids([], 0.7, 0.05) == []


def test_a_related_choice_counts_as_offered_but_a_wrong_answer_stays_wrong() -> None:
    faq = {"text": "q", "topic": "side_effects", "content_id": "side_effects_dissociation"}
    parse = {**_parse("faq", "side_effects_common"), "faq_related": ["side_effects_dissociation"]}
    result = score(EvalSet("t", faq=[faq]), {"q": parse})["faq"]
    assert result["right_item_or_suggested"] == 1.0
    other = {"text": "q", "topic": "preparation", "content_id": "preparation_fasting"}
    wrong = score(EvalSet("t", faq=[other]), {"q": parse})["faq"]
    assert wrong["wrong_topic"] == 1.0 and wrong["right_item_or_suggested"] == 0.0
