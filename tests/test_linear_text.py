"""The fast scorer must give exactly scikit-learn's probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from bot.nlu.linear_text import LinearTextModel, fit_pipeline

TEXTS = [
    "what are the side effects",
    "does ketamine make you sick",
    "how much does it cost",
    "is it covered by insurance",
    "hello there",
    "hi",
    "side effects of the infusion?",
    "what's the price of treatment",
]
LABELS = ["side", "side", "cost", "cost", "greet", "greet", "side", "cost"]
PROBES = [
    "What are the SIDE effects??",
    "price",
    "hi there, does insurance pay",
    "zzzz qqqq",  # no known n-gram of either kind beyond characters
    "",
    "ketamine ketamine ketamine cost cost",
]


@pytest.mark.parametrize(
    ("labels", "c"), [(LABELS, 10.0), (["a" if x == "side" else "b" for x in LABELS], 1.0)]
)
def test_probabilities_equal_predict_proba(labels: list[str], c: float) -> None:
    pipeline = fit_pipeline(TEXTS, labels, c)
    model = LinearTextModel(pipeline)
    assert model.labels == [str(x) for x in pipeline.classes_]
    for probe in PROBES:
        np.testing.assert_allclose(
            model.probabilities(probe), pipeline.predict_proba([probe])[0], atol=1e-9
        )


def test_ranking_is_best_first_and_truncated() -> None:
    model = LinearTextModel(fit_pipeline(TEXTS, LABELS, 10.0))
    ranking = model.ranking("how much is it", 2)
    assert [label for label, _ in ranking][0] == "cost"
    assert len(ranking) == 2 and ranking[0][1] >= ranking[1][1]
