"""Rasa NLU intent classifier: n-grams + sentence embedding, logistic regression.

It stands in for DIET (bot/nlu/linear_text.py). On this assistant's short
messages it is more accurate on held-out data (see `make eval`), trains in
seconds and classifies a message in well under a millisecond once the
embedding is computed. Retrieval intents are learnt as their base intent
(`faq/<id>` as `faq`); bot/nlu/content_selector.py picks the item. Intents in
`exclude_intents` (the crisis data, which the crisis model in
bot/safety/component.py learns) are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.linear_text import LinearTextComponent


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class IntentClassifier(LinearTextComponent):
    """Sets `intent` and `intent_ranking` like Rasa's own classifiers."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **LinearTextComponent.get_default_config(),
            "ranking_length": 10,
            "exclude_intents": [],
        }

    def examples(self, training_data: TrainingData) -> Iterable[tuple[Message, str]]:
        excluded = set(self._config["exclude_intents"])
        for message in training_data.intent_examples:
            if message.get(INTENT) not in excluded:
                yield message, message.get(INTENT)

    def process(self, messages: list[Message]) -> list[Message]:
        if self._model is None:
            return messages
        for message in messages:
            ranking = [
                {"name": name, "confidence": confidence}
                for name, confidence in self.ranking(message, int(self._config["ranking_length"]))
            ]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
