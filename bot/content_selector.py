"""Rasa NLU component that picks which content item answers an FAQ question.

It replaces Rasa's transformer ResponseSelector for the `faq` retrieval
intent with TF-IDF (character and word n-grams) and a logistic regression
from scikit-learn: on our few dozen phrasings per item it is more accurate
on held-out questions, trains in a second instead of minutes and predicts in
well under a millisecond. Its output has the ResponseSelector's shape
(`response_selector.faq.response.intent_response_key` and `confidence`), so
`action_answer_faq` and Rasa's own tooling read it as usual.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT_RESPONSE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_union

logger = logging.getLogger(__name__)

SELECTOR_KEY = "response_selector"
RANKING_LENGTH = 5


def normalise(text: str) -> str:
    """Lowercase letters and digits only, so punctuation and case don't matter."""
    return re.sub(r"[^a-z0-9 ]+", " ", text.lower())


def _pipeline(c: float) -> Pipeline:
    features = make_union(
        TfidfVectorizer(
            analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, preprocessor=normalise
        ),
        TfidfVectorizer(
            analyzer="word", ngram_range=(1, 2), sublinear_tf=True, preprocessor=normalise
        ),
    )
    return Pipeline(
        [("features", features), ("classifier", LogisticRegression(C=c, max_iter=5000))]
    )


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class ContentSelector(GraphComponent):
    """Chooses `faq/<content_id>` for messages, with a calibrated-ish probability."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"retrieval_intent": "faq", "C": 10.0}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        pipeline: Pipeline | None = None,
    ) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self._pipeline = pipeline

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ContentSelector:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> ContentSelector:
        import skops.io as sio

        try:
            with model_storage.read_from(resource) as directory:
                path = directory / "content_selector.skops"
                pipeline = sio.load(path, trusted=sio.get_untrusted_types(file=path))
        except ValueError:
            logger.warning("ContentSelector has no trained model; FAQ answers will fall back")
            pipeline = None
        return cls(config, model_storage, resource, pipeline)

    def train(self, training_data: TrainingData) -> Resource:
        import skops.io as sio

        prefix = f"{self._config['retrieval_intent']}/"
        texts, labels = [], []
        for message in training_data.intent_examples:
            key = message.get(INTENT_RESPONSE_KEY) or ""
            if key.startswith(prefix):
                texts.append(message.get(TEXT))
                labels.append(key)
        if len(set(labels)) < 2:
            logger.warning("ContentSelector needs at least two content items to train")
            return self._resource
        self._pipeline = _pipeline(float(self._config["C"])).fit(texts, labels)
        with self._model_storage.write_to(self._resource) as directory:
            sio.dump(self._pipeline, directory / "content_selector.skops")
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        if self._pipeline is None or not messages:
            return messages
        retrieval_intent = self._config["retrieval_intent"]
        probabilities = self._pipeline.predict_proba([m.get(TEXT) or "" for m in messages])
        labels = self._pipeline.classes_
        for message, row in zip(messages, probabilities, strict=True):
            order = row.argsort()[::-1][:RANKING_LENGTH]
            ranking = [
                {"intent_response_key": str(labels[i]), "confidence": float(row[i])} for i in order
            ]
            best = ranking[0]
            prediction = {
                "response": {
                    "responses": None,
                    "confidence": best["confidence"],
                    "intent_response_key": best["intent_response_key"],
                    "utter_action": f"utter_{best['intent_response_key']}",
                },
                "ranking": ranking,
            }
            selectors = message.get(SELECTOR_KEY) or {}
            selectors["all_retrieval_intents"] = [retrieval_intent]
            selectors[retrieval_intent] = prediction
            message.set(SELECTOR_KEY, selectors, add_to_output=True)
        return messages
