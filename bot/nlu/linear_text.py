"""TF-IDF + sentence-embedding features with logistic regression, as Rasa NLU components.

Sparse features are character 1-4-grams within words and word uni/bigrams
(each TF-IDF block L2-normalised); dense features are the message's sentence
embedding from `bot.nlu.sentence_encoder` (384 dimensions, L2-normalised,
scaled by `dense_weight`). The n-grams know the clinic's own words and
misspellings seen in training; the embedding knows that "appt" is an
appointment and that a placebo question is about evidence. A multinomial
logistic regression (scikit-learn) is trained on both and stored with skops.

At prediction time the fitted model is scored directly: the message's
n-grams are looked up in the vocabularies and their weighted coefficient rows
summed, plus the embedding times its coefficient block. That gives the same
probabilities as scikit-learn's `predict_proba` (a test checks it) in tens of
microseconds, because scikit-learn's per-call validation and FeatureUnion
machinery dominate on a single short message.

Components built on it: `bot.nlu.intent_classifier.IntentClassifier`,
`bot.nlu.content_selector.ContentSelector` and the crisis model in
`bot.safety.component.CrisisOverride`.
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, make_union

logger = logging.getLogger(__name__)

MODEL_FILE = "linear_text.skops"


def normalise(text: str) -> str:
    """Lowercase letters and digits only, so punctuation and case don't matter."""
    return re.sub(r"[^a-z0-9 ]+", " ", text.lower())


def has_words(text: str) -> bool:
    """Whether a message has a letter: one of only emoji, digits or punctuation ("🙃",
    "?!") says nothing the classifiers can read, and its embedding is that of unknown
    tokens, which all look alike."""
    return any(character.isalpha() for character in text or "")


def dense_vector(message: Message) -> np.ndarray | None:
    """The sentence embedding a dense featurizer put on the message, if any."""
    _, sentence = message.get_dense_features(TEXT)
    return None if sentence is None else np.asarray(sentence.features, dtype=np.float64).ravel()


def feature_matrix(
    features: FeatureUnion, texts: list[str], dense: np.ndarray | None, dense_weight: float
) -> sparse.csr_matrix:
    """Sparse n-gram blocks followed by the scaled embedding block (when there is one)."""
    matrix = features.transform(texts)
    if dense is None or dense_weight == 0.0:
        return sparse.csr_matrix(matrix)
    return sparse.hstack([matrix, sparse.csr_matrix(dense * dense_weight)], format="csr")


def fit(
    texts: list[str],
    labels: list[str],
    c: float,
    dense: np.ndarray | None = None,
    dense_weight: float = 1.0,
    class_weight: str | None = None,
    max_iter: int = 5000,
) -> LinearTextModel:
    """Fit the n-gram vectorizers and the logistic regression (scikit-learn does the training)."""
    features = make_union(
        TfidfVectorizer(
            analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, preprocessor=normalise
        ),
        TfidfVectorizer(
            analyzer="word", ngram_range=(1, 2), sublinear_tf=True, preprocessor=normalise
        ),
    )
    features.fit(texts)
    weight = dense_weight if dense is not None else 0.0
    classifier = LogisticRegression(C=c, max_iter=max_iter, class_weight=class_weight)
    with warnings.catch_warnings():
        # A `max_iter` below convergence is a configured trade (config.yml), not a fault.
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(feature_matrix(features, texts, dense, weight), labels)
    return LinearTextModel(features, classifier, weight)


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
    """Fast scoring of a fitted model (n-gram blocks + optional embedding block)."""

    def __init__(
        self, features: FeatureUnion, classifier: LogisticRegression, dense_weight: float
    ) -> None:
        self.features = features
        self.classifier = classifier
        self.dense_weight = dense_weight
        self.labels: list[str] = [str(label) for label in classifier.classes_]
        coef = classifier.coef_.T  # (n_features, n_classes or 1)
        self.binary = coef.shape[1] == 1
        self.intercept = classifier.intercept_
        self.blocks: list[_Block] = []
        start = 0
        for _, vectorizer in features.transformer_list:
            size = len(vectorizer.vocabulary_)
            self.blocks.append(_Block(vectorizer, np.ascontiguousarray(coef[start : start + size])))
            start += size
        self.dense_weights = np.ascontiguousarray(coef[start:]) * dense_weight

    def probabilities(self, text: str, dense: np.ndarray | None = None) -> np.ndarray:
        """Class probabilities in the order of `labels` (= `predict_proba`)."""
        z = self.intercept + sum(block.logits(text) for block in self.blocks)
        if len(self.dense_weights) and dense is not None:
            z = z + dense @ self.dense_weights
        if self.binary:
            positive = 1.0 / (1.0 + math.exp(-float(z[0])))
            return np.array([1.0 - positive, positive])
        z = np.exp(z - z.max())
        return z / z.sum()

    def ranking(
        self, text: str, length: int, dense: np.ndarray | None = None
    ) -> list[tuple[str, float]]:
        """The `length` most likely labels with their probabilities, best first."""
        row = self.probabilities(text, dense)
        order = row.argsort()[::-1][:length]
        return [(self.labels[i], float(row[i])) for i in order]

    def state(self) -> dict[str, Any]:
        """What is persisted (skops)."""
        return {
            "features": self.features,
            "classifier": self.classifier,
            "dense_weight": self.dense_weight,
        }


def read_model(path: Path) -> LinearTextModel:
    """A model persisted by `LinearTextComponent.train` (skops)."""
    import skops.io as sio

    state = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    return LinearTextModel(state["features"], state["classifier"], state["dense_weight"])


def single_threaded_blas() -> None:
    """One BLAS thread for the whole process, at inference.

    A message's matrices are tiny, and on a small machine BLAS's own thread
    pool only contends with the encoder's and the server's threads: on 2
    cores one thread halved the NLU parse time (10 to 5 ms per message).
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


class LinearTextComponent(GraphComponent):
    """Shared training, persistence and loading for the two classifiers."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"C": 10.0, "dense_weight": 1.0, "class_weight": None, "max_iter": 5000}

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
        component = None
        try:
            with model_storage.read_from(resource) as directory:
                model = read_model(directory / MODEL_FILE)
                component = cls(config, model_storage, resource, model)
                component.load_extra(directory)
        except ValueError:
            if component is not None:
                raise  # the model was there: a broken extra file is an error, not "untrained"
            logger.warning("%s has no trained model", cls.__name__)
            return cls(config, model_storage, resource)
        single_threaded_blas()
        return component

    def persist_extra(self, directory: Path, labels: list[str], dense: np.ndarray | None) -> None:
        """Files a subclass keeps beside the model, written with it (none here)."""

    def load_extra(self, directory: Path) -> None:
        """Reads what `persist_extra` wrote."""

    def examples(self, training_data: TrainingData) -> Iterable[tuple[Message, str]]:
        """(message, label) pairs to train on."""
        raise NotImplementedError

    def train(self, training_data: TrainingData) -> Resource:
        import skops.io as sio

        pairs = list(self.examples(training_data))
        if len({label for _, label in pairs}) < 2:
            logger.warning("%s needs at least two labels to train", type(self).__name__)
            return self._resource
        texts = [message.get(TEXT) or "" for message, _ in pairs]
        labels = [label for _, label in pairs]
        vectors = [dense_vector(message) for message, _ in pairs]
        dense = None if any(v is None for v in vectors) else np.vstack(vectors)
        self._model = fit(
            texts,
            labels,
            float(self._config["C"]),
            dense,
            float(self._config["dense_weight"]),
            self._config["class_weight"],
            int(self._config["max_iter"]),
        )
        with self._model_storage.write_to(self._resource) as directory:
            sio.dump(self._model.state(), directory / MODEL_FILE)
            self.persist_extra(directory, labels, dense)
        return self._resource

    def ranking(self, message: Message, length: int) -> list[tuple[str, float]]:
        """The model's best labels for a message (its text and embedding)."""
        if self._model is None:
            return []
        return self._model.ranking(message.get(TEXT) or "", length, dense_vector(message))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
