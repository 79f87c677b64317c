"""Rasa NLU component that lets a crisis signal override whatever else was predicted.

It runs last in the pipeline (after the FallbackClassifier), on every user
message in every conversation state. `bot.safety.detector.classify` decides:
`crisis` when the reviewed phrase layer matches, `crisis_check` when only the
trained `crisis` intent scores at least `model_threshold` anywhere in the
ranking, even if another intent or `nlu_fallback` came first.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.safety.detector import CHECK_INTENT, CRISIS_INTENT, CRISIS_KEY, classify


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class CrisisOverride(GraphComponent):
    """Sets intent `crisis` (confidence 1.0) when the safety layer says so."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"model_threshold": 0.5}

    def __init__(self, config: dict[str, Any]) -> None:
        self._model_threshold = float(config["model_threshold"])

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CrisisOverride:
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            verdict = classify(
                message.get(TEXT) or "",
                message.get(INTENT_RANKING_KEY) or [],
                self._model_threshold,
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
