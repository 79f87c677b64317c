"""The ContentSelector's rule for rescuing short clinic questions from out-of-scope."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.content_selector import RESCUE_KEY, ContentSelector


def selector(**config: float) -> ContentSelector:
    """The decision rule alone (no trained model is needed to test it)."""
    component = ContentSelector.__new__(ContentSelector)
    component._config = {**ContentSelector.get_default_config(), **config}
    return component


def out_of_scope(faq: float) -> Message:
    ranking = [
        {"name": "out_of_scope", "confidence": 1.0 - faq},
        {"name": "faq", "confidence": faq},
    ]
    return Message(data={TEXT: "apple pay?", INTENT: ranking[0], INTENT_RANKING_KEY: ranking})


BEST = {"intent_response_key": "faq/cost_and_insurance_payment_options", "confidence": 0.8}


@pytest.mark.parametrize(
    ("faq", "item", "rescued"),
    [(0.3, 0.8, True), (0.1, 0.8, False), (0.3, 0.6, False), (0.2, 0.7, True)],
)
def test_out_of_scope_becomes_faq_only_when_both_signals_agree(
    faq: float, item: float, rescued: bool
) -> None:
    message = out_of_scope(faq)
    result = selector(rescue_min_faq=0.2, rescue_min_item=0.7)._rescued(
        message, {**BEST, "confidence": item}
    )
    assert result is rescued
    assert message.get(INTENT)["name"] == ("faq" if rescued else "out_of_scope")
    assert message.get(RESCUE_KEY) == {
        "faq": faq,
        "item": item,
        "key": "faq/cost_and_insurance_payment_options",
    }


def test_rescue_is_off_by_default() -> None:
    message = out_of_scope(0.9)
    assert selector()._rescued(message, {**BEST, "confidence": 0.99}) is False
    assert message.get(INTENT)["name"] == "out_of_scope"
