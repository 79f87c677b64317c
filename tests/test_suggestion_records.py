""" "Did you mean" offers: recorded with the unanswered questions and shown to content authors."""

from __future__ import annotations

from bot.answers.suggestions import make_offer, ranked_content_ids, record_choice
from bot.console.queries import unanswered_groups
from bot.store.models import ContentItem

PARSE = {
    "response_selector": {
        "faq": {
            "ranking": [
                {"intent_response_key": "faq/side_effects_common", "confidence": 0.31},
                {"intent_response_key": "faq/side_effects_dissociation", "confidence": 0.22},
                {"intent_response_key": "faq/preparation_fasting", "confidence": 0.06},
                {"intent_response_key": "faq/cost_and_insurance_prices", "confidence": 0.01},
            ]
        }
    }
}


def _items(session) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    for content_id, topic, title in [
        ("side_effects_common", "side_effects", "Common side effects"),
        ("side_effects_dissociation", "side_effects", "Dissociation: feeling detached"),
        ("preparation_fasting", "preparation", "Fasting before a session"),
    ]:
        session.add(
            ContentItem(
                content_id=content_id,
                version=1,
                topic=topic,
                title=title,
                status="approved",
                reviewed_by="MD",
                reviewed_on=date(2026, 11, 20),
                sources=["a source"],
                answer_web="web",
                answer_sms="sms",
            )
        )


def test_options_are_the_likely_items_best_first() -> None:
    assert ranked_content_ids(PARSE) == [
        "side_effects_common",
        "side_effects_dissociation",
        "preparation_fasting",
    ]  # below 5% an item is not worth offering
    assert ranked_content_ids({}) == []


def test_offer_choice_and_console_view(database) -> None:  # type: ignore[no-untyped-def]
    with database() as session:
        _items(session)
    offer = make_offer(conversation_id="c1", channel="rest", text="feel weird after?", parse=PARSE)
    assert offer is not None
    assert [o["title"] for o in offer.payload["options"]] == [
        "Common side effects",
        "Dissociation: feeling detached",
        "Fasting before a session",
    ]
    assert offer.buttons[-1]["title"] == "None of these"
    assert offer.buttons[0]["payload"] == '/faq_choose{"content_id": "side_effects_common"}'
    record_choice(conversation_id="c1", content_id="side_effects_dissociation")
    make_offer(conversation_id="c2", channel="rest", text="Feel weird after", parse=PARSE)
    record_choice(conversation_id="c2", content_id="none")
    make_offer(conversation_id="c3", channel="rest", text="feel weird after", parse=PARSE)

    with database() as session:
        (group,) = unanswered_groups(session)
    assert group.count == 3 and group.offered == 3
    assert dict(group.picked) == {
        "side_effects_dissociation": 1,
        "none": 1,
    }  # c3 picked nothing yet


def test_no_offer_without_two_approved_items(database) -> None:  # type: ignore[no-untyped-def]
    assert make_offer(conversation_id="c", channel=None, text="x", parse=PARSE) is None


def test_a_pick_the_open_offer_did_not_list_leaves_it_open(database) -> None:  # type: ignore[no-untyped-def]
    """A related choice under an answer is no pick from an earlier "did you mean"."""
    with database() as session:
        _items(session)
    make_offer(conversation_id="c4", channel="rest", text="feel weird after?", parse=PARSE)
    record_choice(conversation_id="c4", content_id="cost_and_insurance_prices")  # not offered
    with database() as session:
        (group,) = unanswered_groups(session)
    assert group.offered == 1 and dict(group.picked) == {}
    record_choice(conversation_id="c4", content_id="preparation_fasting")
    with database() as session:
        (group,) = unanswered_groups(session)
    assert dict(group.picked) == {"preparation_fasting": 1}


def test_related_choices_are_the_approved_runner_ups(database) -> None:  # type: ignore[no-untyped-def]
    from bot.answers.suggestions import related_choices

    with database() as session:
        _items(session)
    buttons, options = related_choices(["side_effects_dissociation", "no_such_item"])
    assert options == [
        {
            "content_id": "side_effects_dissociation",
            "topic": "side_effects",
            "title": "Dissociation: feeling detached",
        }
    ]
    assert buttons == [
        {
            "title": "Dissociation: feeling detached",
            "payload": '/faq_choose{"content_id": "side_effects_dissociation"}',
        }
    ]


def test_a_pick_from_under_an_answer_shows_the_answer_missed(database) -> None:  # type: ignore[no-untyped-def]
    from bot.answers.served import record_unanswered

    with database() as session:
        _items(session)
    record_unanswered(
        conversation_id="c5",
        channel="rest",
        text="Feel weird after?",
        confidence=0.62,
        kind="related",
        offered=["side_effects_dissociation", "preparation_fasting"],
        chosen="side_effects_dissociation",
    )
    with database() as session:
        (group,) = unanswered_groups(session)
    assert group.example == "Feel weird after?" and group.offered == 1
    assert dict(group.picked) == {"side_effects_dissociation": 1}
