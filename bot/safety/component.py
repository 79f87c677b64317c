"""Rasa NLU component: the crisis model, and the override of whatever else was predicted.

It runs last in the pipeline (after the FallbackClassifier), on every user
message in every conversation state. It is a binary classifier of its own
(bot/nlu/linear_text.py: n-grams + the shared sentence embedding, logistic
regression), trained on the `crisis` examples against everything else in the
training data: the written look-alikes (`crisis_lookalike`), FAQ questions,
everyday requests. `bot.safety.detector.classify` then decides the tier from
the reviewed rules and the model's score.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.linear_text import LinearTextComponent
from bot.safety.detector import CHECK_INTENT, CRISIS_INTENT, CRISIS_KEY, classify

SCORE_KEY = "crisis_score"

OTHER = "other"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class CrisisOverride(LinearTextComponent):
    """Sets intent `crisis` or `crisis_check` (confidence 1.0) when the safety layer says so."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **LinearTextComponent.get_default_config(),
            "class_weight": "balanced",
            "protocol_threshold": 0.9,
            "check_threshold": 0.5,
        }

    def examples(self, training_data: TrainingData) -> Iterable[tuple[Message, str]]:
        for message in training_data.intent_examples:
            yield message, CRISIS_INTENT if message.get(INTENT) == CRISIS_INTENT else OTHER

    def crisis_probability(self, message: Message) -> float | None:
        """The model's probability that the message is a crisis (None: untrained)."""
        scores = dict(self.ranking(message, 2))
        return scores.get(CRISIS_INTENT) if scores else None

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            probability = self.crisis_probability(message)
            if probability is not None:
                # Every parse carries the score: `make eval` sweeps thresholds on dev with it.
                message.set(SCORE_KEY, round(float(probability), 4), add_to_output=True)
            verdict = classify(
                message.get(TEXT) or "",
                probability,
                float(self._config["protocol_threshold"]),
                float(self._config["check_threshold"]),
                predicted_intent=(message.get(INTENT) or {}).get("name"),
            )
            if verdict is None:
                continue
            crisis_intent = {"name": verdict["intent"], "confidence": 1.0}
            ranking = [
                entry
                for entry in message.get(INTENT_RANKING_KEY) or []
                if entry.get("name") not in (CRISIS_INTENT, CHECK_INTENT)
            ]
            message.set(INTENT, crisis_intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [crisis_intent, *ranking], add_to_output=True)
            message.set(CRISIS_KEY, verdict, add_to_output=True)
        return messages
