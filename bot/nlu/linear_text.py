"""TF-IDF + logistic regression text classifiers as Rasa NLU components.

Trained with scikit-learn (character 1-4-grams within words and word
uni/bigrams, each TF-IDF block L2-normalised, then a multinomial logistic
regression) and stored with skops. At prediction time the fitted model is
scored directly: the message's n-grams are looked up in the vocabularies and
their weighted coefficient rows summed. That gives the same probabilities as
`Pipeline.predict_proba` (a test checks it) in tens of microseconds instead
of milliseconds, because scikit-learn's per-call validation and FeatureUnion
machinery dominate on a single short message.

Two components use it: `bot.nlu.intent_classifier.IntentClassifier` (every
intent) and `bot.nlu.content_selector.ContentSelector` (which approved item
answers an FAQ question).
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_union

logger = logging.getLogger(__name__)

MODEL_FILE = "linear_text.skops"


def normalise(text: str) -> str:
    """Lowercase letters and digits only, so punctuation and case don't matter."""
    return re.sub(r"[^a-z0-9 ]+", " ", text.lower())


def fit_pipeline(texts: list[str], labels: list[str], c: float) -> Pipeline:
    """Fit the TF-IDF + logistic regression pipeline (scikit-learn does the training)."""
    features = make_union(
        TfidfVectorizer(
            analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, preprocessor=normalise
        ),
        TfidfVectorizer(
            analyzer="word", ngram_range=(1, 2), sublinear_tf=True, preprocessor=normalise
        ),
    )
    pipeline = Pipeline(
        [("features", features), ("classifier", LogisticRegression(C=c, max_iter=5000))]
    )
    return pipeline.fit(texts, labels)


class _Block:
    """One fitted TF-IDF vectorizer with its slice of the coefficient matrix."""

    def __init__(self, vectorizer: TfidfVectorizer, weights: np.ndarray) -> None:
        self.analyze: Callable[[str], list[str]] = vectorizer.build_analyzer()
        self.vocabulary: dict[str, int] = vectorizer.vocabulary_
        self.idf: np.ndarray = vectorizer.idf_
        self.weights = weights  # (n_features_in_block, n_classes)

    def logits(self, text: str) -> np.ndarray:
        counts = Counter(term for term in self.analyze(text) if term in self.vocabulary)
        if not counts:
            return np.zeros(self.weights.shape[1])
        index = np.fromiter((self.vocabulary[t] for t in counts), dtype=np.int64)
        tf = np.fromiter((1.0 + math.log(n) for n in counts.values()), dtype=np.float64)
        values = tf * self.idf[index]
        values /= np.sqrt(values @ values)
        return values @ self.weights[index]


class LinearTextModel:
    """Fast scoring of a fitted `fit_pipeline` pipeline."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        classifier: LogisticRegression = pipeline.named_steps["classifier"]
        self.labels: list[str] = [str(label) for label in classifier.classes_]
        coef = classifier.coef_.T  # (n_features, n_classes or 1)
        self.binary = coef.shape[1] == 1
        self.intercept = classifier.intercept_
        self.blocks: list[_Block] = []
        start = 0
        for _, vectorizer in pipeline.named_steps["features"].transformer_list:
            size = len(vectorizer.vocabulary_)
            self.blocks.append(_Block(vectorizer, np.ascontiguousarray(coef[start : start + size])))
            start += size

    def probabilities(self, text: str) -> np.ndarray:
        """Class probabilities in the order of `labels` (= `predict_proba`)."""
        z = self.intercept + sum(block.logits(text) for block in self.blocks)
        if self.binary:
            positive = 1.0 / (1.0 + math.exp(-float(z[0])))
            return np.array([1.0 - positive, positive])
        z = np.exp(z - z.max())
        return z / z.sum()

    def ranking(self, text: str, length: int) -> list[tuple[str, float]]:
        """The `length` most likely labels with their probabilities, best first."""
        row = self.probabilities(text)
        order = row.argsort()[::-1][:length]
        return [(self.labels[i], float(row[i])) for i in order]


class LinearTextComponent(GraphComponent):
    """Shared training, persistence and loading for the two classifiers."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"C": 10.0}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: LinearTextModel | None = None,
    ) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearTextComponent:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearTextComponent:
        import skops.io as sio

        try:
            with model_storage.read_from(resource) as directory:
                path = directory / MODEL_FILE
                pipeline = sio.load(path, trusted=sio.get_untrusted_types(file=path))
        except ValueError:
            logger.warning("%s has no trained model", cls.__name__)
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, LinearTextModel(pipeline))

    def examples(self, training_data: TrainingData) -> Iterable[tuple[str, str]]:
        """(text, label) pairs to train on."""
        raise NotImplementedError

    def train(self, training_data: TrainingData) -> Resource:
        import skops.io as sio

        pairs = list(self.examples(training_data))
        if len({label for _, label in pairs}) < 2:
            logger.warning("%s needs at least two labels to train", type(self).__name__)
            return self._resource
        texts, labels = zip(*pairs, strict=True)
        pipeline = fit_pipeline(list(texts), list(labels), float(self._config["C"]))
        self._model = LinearTextModel(pipeline)
        with self._model_storage.write_to(self._resource) as directory:
            sio.dump(pipeline, directory / MODEL_FILE)
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
