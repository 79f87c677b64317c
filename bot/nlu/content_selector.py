"""Rasa NLU component that picks which approved content item answers an FAQ question.

It replaces Rasa's ResponseSelector for the `faq` retrieval intent with the
TF-IDF + logistic regression of bot/nlu/linear_text.py: on our few dozen
phrasings per item it is more accurate on held-out questions, trains in
seconds instead of minutes and predicts in microseconds. Its output has the
ResponseSelector's shape (`response_selector.faq.response.intent_response_key`
and `confidence`), so `utter_faq`, bot/answers/nlg.py and Rasa's tooling read it as
usual.

It also holds the one rule for answering: when the chosen item's probability
is below `threshold` but at least `suggest_threshold`, the intent becomes
`faq_uncertain` and the bot offers the likeliest items ("did you mean…?",
bot/answers/suggestions.py); below `suggest_threshold` it becomes
`nlu_fallback`, so the bot says it is not sure instead of guessing on a
health question. A message without a letter (only emoji, digits or
punctuation) is never matched to an item: it gets the fallback too. An answer
whose probability is below `related_below` carries the runner-up items
(`faq_related`, those at `related_min` or more): the answer offers them as
choices too ("Not quite what you asked?"), so a near miss costs one tap. It
runs after the FallbackClassifier and only on messages still classified as
`faq`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, INTENT_RESPONSE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.linear_text import LinearTextComponent, has_words

UNCERTAIN_INTENT = (
    "faq_uncertain"  # the bot offers "did you mean" choices (bot/answers/suggestions.py)
)
SELECTOR_KEY = "response_selector"
RELATED_KEY = "faq_related"  # runner-up content ids offered under an answer
RANKING_LENGTH = 5
MAX_RELATED = 2


def answer_intent(
    confidence: float,
    text: str,
    threshold: float,
    suggest_threshold: float,
    retrieval_intent: str = "faq",
) -> str:
    """The retrieval intent (answer), `faq_uncertain` (offer choices) or `nlu_fallback`, from
    the best item's probability; a message without a word is never matched to an item."""
    words = has_words(text)
    if words and confidence >= threshold:
        return retrieval_intent
    if words and confidence >= suggest_threshold:
        return UNCERTAIN_INTENT
    return DEFAULT_NLU_FALLBACK_INTENT_NAME


def related_ids(
    ranking: list[tuple[str, float]],
    related_below: float,
    related_min: float,
    retrieval_intent: str = "faq",
) -> list[str]:
    """The runner-up items offered under an answer that is likely but not certain."""
    if not ranking or ranking[0][1] >= related_below:
        return []
    prefix = f"{retrieval_intent}/"
    return [
        key[len(prefix) :]
        for key, confidence in ranking[1 : 1 + MAX_RELATED]
        if confidence >= related_min and key.startswith(prefix)
    ]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class ContentSelector(LinearTextComponent):
    """Chooses `faq/<content_id>` for FAQ messages, or falls back below `threshold`."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **LinearTextComponent.get_default_config(),
            "retrieval_intent": "faq",
            "threshold": 0.5,
            "suggest_threshold": 0.2,
            "related_below": 0.0,  # 0: an answer never offers other items
            "related_min": 0.1,
        }

    def examples(self, training_data: TrainingData) -> Iterable[tuple[Message, str]]:
        prefix = f"{self._config['retrieval_intent']}/"
        for message in training_data.intent_examples:
            key = message.get(INTENT_RESPONSE_KEY) or ""
            if key.startswith(prefix):
                yield message, key

    def process(self, messages: list[Message]) -> list[Message]:
        retrieval_intent = self._config["retrieval_intent"]
        for message in messages:
            intent = message.get(INTENT) or {}
            if intent.get("name") != retrieval_intent:
                continue
            scored = self.ranking(message, RANKING_LENGTH)
            ranking = [
                {"intent_response_key": key, "confidence": confidence} for key, confidence in scored
            ]
            best = ranking[0] if ranking else {"intent_response_key": None, "confidence": 0.0}
            message.set(
                SELECTOR_KEY,
                {
                    "all_retrieval_intents": [retrieval_intent],
                    retrieval_intent: {
                        "response": {
                            "responses": None,
                            "confidence": best["confidence"],
                            "intent_response_key": best["intent_response_key"],
                            "utter_action": f"utter_{best['intent_response_key']}",
                        },
                        "ranking": ranking,
                    },
                },
                add_to_output=True,
            )
            name = answer_intent(
                best["confidence"],
                message.get(TEXT) or "",
                float(self._config["threshold"]),
                float(self._config["suggest_threshold"]),
                retrieval_intent,
            )
            if name == retrieval_intent:
                related = related_ids(
                    scored,
                    float(self._config["related_below"]),
                    float(self._config["related_min"]),
                    retrieval_intent,
                )
                if related:
                    message.set(RELATED_KEY, related, add_to_output=True)
                continue
            replaced = {"name": name, "confidence": intent.get("confidence")}
            message.set(INTENT, replaced, add_to_output=True)
            message.set(
                INTENT_RANKING_KEY,
                [replaced, *(message.get(INTENT_RANKING_KEY) or [])],
                add_to_output=True,
            )
        return messages
