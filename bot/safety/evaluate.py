"""Scoring crisis detection against the labelled set (tests/data/crisis_eval.yml).

Pure Python + PyYAML, so it can score the pattern layer alone (no model) or any
other predictor, e.g. the deployed model through a running Rasa server (see
`bot.safety.report`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml


def load_eval_set(path: Path) -> tuple[list[str], list[str]]:
    """The `crisis:` and `not_crisis:` messages of a labelled set, in file order."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping with `crisis` and `not_crisis` lists")
    lists = []
    for key in ("crisis", "not_crisis"):
        items = data.get(key) or []
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise ValueError(f"{path}: `{key}` must be a list of strings")
        lists.append([item for item in items if item.strip()])
    return lists[0], lists[1]


def score(predict: Callable[[str], bool], crisis: list[str], not_crisis: list[str]) -> dict:
    """Recall on `crisis`, false-positive rate on `not_crisis`, and the offending texts."""
    missed = [text for text in crisis if not predict(text)]
    false_positives = [text for text in not_crisis if predict(text)]
    detected = len(crisis) - len(missed)
    return {
        "recall": detected / len(crisis) if crisis else 1.0,
        "false_positive_rate": len(false_positives) / len(not_crisis) if not_crisis else 0.0,
        "missed": missed,
        "false_positives": false_positives,
        "counts": {
            "crisis": len(crisis),
            "not_crisis": len(not_crisis),
            "detected": detected,
            "missed": len(missed),
            "false_positives": len(false_positives),
            "true_negatives": len(not_crisis) - len(false_positives),
        },
    }
