"""The held-out messages (tests/data/): what training data must never contain.

A figure counts only on messages the model never saw. Sets written
independently still share short common phrasings ("call me", "What is
ketamine?"), so the training files are checked against every held-out text
(tests) and scrubbed of them (scripts/prepare_training_data.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.config import PROJECT_ROOT

HELD_OUT_DIR = PROJECT_ROOT / "tests" / "data"
CRISIS_RULES = PROJECT_ROOT / "bot" / "safety" / "crisis_rules.yml"


def key(text: str) -> str:
    """Case, punctuation and spacing do not make a phrasing new."""
    return " ".join(re.sub(r"[^a-z0-9 ]+", "", text.lower()).split())


# Fields of a held-out example that label it rather than say something.
LABELS = {"topic", "content_id", "expect", "reason", "category", "kind"}


def texts(node: object) -> list[str]:
    """Every message in a parsed YAML document (its labels left out: a category
    named "yes" does not make "yes" a held-out message)."""
    if isinstance(node, dict):
        return [t for k, value in node.items() if k not in LABELS for t in texts(value)]
    if isinstance(node, list):
        return [t for value in node for t in texts(value)]
    return [node] if isinstance(node, str) else []


def held_out_keys(directory: Path = HELD_OUT_DIR) -> set[str]:
    """Keys of every held-out text, and of the crisis rules' own examples."""
    keys = set()
    for path in directory.rglob("*.yml"):
        keys.update(key(text) for text in texts(yaml.safe_load(path.read_text(encoding="utf-8"))))
    rules = yaml.safe_load(CRISIS_RULES.read_text(encoding="utf-8"))
    for group in ("rules", "guards"):
        for entry in rules[group]:
            keys.update(key(text) for text in texts(entry.get("examples")))
    return keys - {""}
