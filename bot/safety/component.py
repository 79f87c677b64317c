"""Rasa NLU component: the crisis model, and the override of whatever else was predicted.

It runs last in the pipeline (after the FallbackClassifier), on every user
message in every conversation state. It is a binary classifier of its own
(bot/nlu/linear_text.py: n-grams + the shared sentence embedding, logistic
regression), trained on the `crisis` examples against everything else in the
training data: the written look-alikes (`crisis_lookalike`), FAQ questions,
everyday requests. A second opinion comes from the message's nearest
training messages (`CrisisNeighbours`): a linear model misses crises worded
unlike most of its training data but close to a few of its examples, and on
dev asking the direct question when most of the five nearest are crises
caught about half of the crisis messages that got no crisis response at all.
`bot.safety.detector.classify` then decides the tier from the reviewed
rules, the model's score and the neighbours' crisis share.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.linear_text import LinearTextComponent, dense_vector, has_words
from bot.safety.detector import CHECK_INTENT, CRISIS_INTENT, CRISIS_KEY, classify

SCORE_KEY = "crisis_score"
NEIGHBOURS_KEY = "crisis_neighbours"
NEIGHBOURS_FILE = "crisis_neighbours.npz"

OTHER = "other"


class CrisisNeighbours:
    """The training messages' embeddings: which share of a message's nearest ones are crises."""

    def __init__(self, vectors: np.ndarray, is_crisis: np.ndarray, k: int) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)  # rows L2-normalised
        self.is_crisis = np.asarray(is_crisis, dtype=bool)
        self.k = min(k, len(self.is_crisis))

    @classmethod
    def build(cls, vectors: np.ndarray, is_crisis: list[bool], k: int) -> CrisisNeighbours:
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return cls(vectors / np.maximum(norms, 1e-12), np.array(is_crisis), k)

    def share(self, dense: np.ndarray) -> float:
        """Similarity-weighted share of crises among the `k` nearest training messages."""
        query = np.asarray(dense, dtype=np.float32).ravel()
        query /= max(float(np.linalg.norm(query)), 1e-12)
        similarity = self.vectors @ query
        nearest = np.argpartition(-similarity, self.k - 1)[: self.k]
        weights = np.clip(similarity[nearest], 1e-6, None)
        return float(weights[self.is_crisis[nearest]].sum() / weights.sum())

    def save(self, path: Path) -> None:
        np.savez_compressed(path, vectors=self.vectors, is_crisis=self.is_crisis, k=self.k)

    @classmethod
    def read(cls, path: Path) -> CrisisNeighbours:
        with np.load(path) as data:
            return cls(data["vectors"], data["is_crisis"], int(data["k"]))


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
            "neighbours": 5,
            # Above 1: the neighbours never ask the question.
            "neighbour_check_threshold": 1.1,
        }

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._neighbours: CrisisNeighbours | None = None  # set by train() or load()

    def persist_extra(self, directory: Path, labels: list[str], dense: np.ndarray | None) -> None:
        if dense is None:
            return  # no embedding in the pipeline: no neighbours
        self._neighbours = CrisisNeighbours.build(
            dense, [label == CRISIS_INTENT for label in labels], int(self._config["neighbours"])
        )
        self._neighbours.save(directory / NEIGHBOURS_FILE)

    def load_extra(self, directory: Path) -> None:
        if (directory / NEIGHBOURS_FILE).exists():
            self._neighbours = CrisisNeighbours.read(directory / NEIGHBOURS_FILE)

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
            text = message.get(TEXT) or ""
            dense = dense_vector(message)
            share = None
            # Without a word the encoder sees only unknown tokens ("🙃", "🤡🤡"), which all
            # embed alike, next to the few emoji-only crisis messages of the training data.
            if self._neighbours is not None and dense is not None and has_words(text):
                share = self._neighbours.share(dense)
                message.set(NEIGHBOURS_KEY, round(share, 4), add_to_output=True)
            verdict = classify(
                text,
                probability,
                float(self._config["protocol_threshold"]),
                float(self._config["check_threshold"]),
                predicted_intent=(message.get(INTENT) or {}).get("name"),
                neighbour_share=share,
                neighbour_threshold=float(self._config["neighbour_check_threshold"]),
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
