"""The fast scorer must give exactly scikit-learn's probabilities, with and without embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from bot.nlu.linear_text import feature_matrix, fit

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


RNG = np.random.default_rng(7)
DENSE = RNG.normal(size=(len(TEXTS), 6))
PROBE_DENSE = RNG.normal(size=(len(PROBES), 6))


@pytest.mark.parametrize("dense", [None, DENSE])
@pytest.mark.parametrize(
    ("labels", "c"), [(LABELS, 10.0), (["a" if x == "side" else "b" for x in LABELS], 1.0)]
)
def test_probabilities_equal_predict_proba(
    labels: list[str], c: float, dense: np.ndarray | None
) -> None:
    model = fit(TEXTS, labels, c, dense, dense_weight=2.0)
    assert model.labels == [str(x) for x in model.classifier.classes_]
    for i, probe in enumerate(PROBES):
        vector = None if dense is None else PROBE_DENSE[i]
        matrix = feature_matrix(
            model.features, [probe], None if vector is None else vector[None, :], 2.0
        )
        np.testing.assert_allclose(
            model.probabilities(probe, vector),
            model.classifier.predict_proba(matrix)[0],
            atol=1e-9,
        )


def test_the_embedding_changes_the_prediction() -> None:
    """A message with no known n-gram is classified by its embedding alone."""
    dense = np.array([[1.0, 0.0] if label == "side" else [0.0, 1.0] for label in LABELS])
    model = fit(TEXTS, ["side" if x == "side" else "other" for x in LABELS], 10.0, dense, 3.0)
    assert model.ranking("qqqq", 1, np.array([1.0, 0.0]))[0][0] == "side"
    assert model.ranking("qqqq", 1, np.array([0.0, 1.0]))[0][0] == "other"


def test_ranking_is_best_first_and_truncated() -> None:
    model = fit(TEXTS, LABELS, 10.0)
    ranking = model.ranking("how much is it", 2)
    assert [label for label, _ in ranking][0] == "cost"
    assert len(ranking) == 2 and ranking[0][1] >= ranking[1][1]


def test_blas_runs_single_threaded_once_a_model_is_loaded() -> None:
    from threadpoolctl import threadpool_info, threadpool_limits

    from bot.nlu.linear_text import single_threaded_blas

    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas, "numpy is linked against a BLAS"
    original = threadpool_limits(limits=2, user_api="blas")  # restored below
    try:
        single_threaded_blas()
        assert {
            pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"
        } == {1}
    finally:
        original.restore_original_limits()
