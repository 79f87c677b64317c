"""NLU quality on phrasings that are not in the training data (per topic)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from bot.answers.content_store import read_content
from bot.answers.served import selected_content
from tests.conftest import ROOT, Stack

HELDOUT_FILES = sorted((ROOT / "tests" / "data").glob("nlu_heldout_*.yml"))


def _normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]+", "", text.lower()).strip()


def heldout_examples() -> list[dict]:
    examples: list[dict] = []
    for path in HELDOUT_FILES:
        examples += yaml.safe_load(Path(path).read_text())["examples"]
    return examples


def training_texts() -> set[str]:
    texts = set()
    for path in (ROOT / "data").rglob("*.yml"):
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith("- "):
                texts.add(_normalise(stripped[2:]))
    for item in read_content()[0]:
        texts.update(_normalise(q) for q in item.questions)
    return texts


def test_no_held_out_text_is_in_the_training_data() -> None:
    """Blind test, dev and the old evaluation sets: never trained on (bot/quality/held_out.py)."""
    from bot.quality.held_out import held_out_keys, key

    trained = {key(text) for text in training_texts()}
    leaked = sorted(held_out_keys() & trained)
    # Only the count: printing them would show the frozen test sets' texts.
    assert not leaked, (
        f"{len(leaked)} held-out texts are in data/ or bot/content questions: run "
        "`scripts/prepare_training_data.py --drop-held-out`"
    )
    assert len(held_out_keys()) > 3000  # the blind, dev and old sets were all read


def test_heldout_covers_every_content_item() -> None:
    ids = {item.id for item in read_content()[0] if item.approved}
    assert ids <= {e["content_id"] for e in heldout_examples()}


@pytest.mark.e2e
def test_heldout_accuracy_per_topic(stack: Stack) -> None:
    topic_of = {item.id: item.topic for item in read_content()[0]}
    per_topic: dict[str, list[str]] = defaultdict(list)  # outcomes: right / wrong / fallback
    for example in heldout_examples():
        selected = selected_content(stack.parse(example["text"]))
        expected_topic = topic_of[example["content_id"]]
        if selected is None:
            outcome = "fallback"
        elif topic_of.get(selected[0]) == expected_topic:
            outcome = "right"
        else:
            outcome = "wrong"
        per_topic[expected_topic].append(outcome)

    outcomes = [o for values in per_topic.values() for o in values]
    total = len(outcomes)
    print(f"\nheld-out NLU: {total} phrasings")
    for topic in sorted(per_topic):
        values = per_topic[topic]
        print(
            f"  {topic:28s} accuracy {values.count('right') / len(values):6.1%}"
            f"  wrong {values.count('wrong'):2d}  fallback {values.count('fallback'):2d}"
        )
    accuracy = outcomes.count("right") / total
    wrong = outcomes.count("wrong") / total
    fallback = outcomes.count("fallback") / total
    print(
        f"  overall topic accuracy {accuracy:.1%}, "
        f"wrong-topic answers {wrong:.1%}, fallback {fallback:.1%}"
    )
    assert accuracy >= 0.75
    assert wrong <= 0.06


@pytest.mark.parametrize("folder", ["blind6", "blind7"])
def test_frozen_test_sets_are_unchanged(folder: str) -> None:
    """A frozen blind set is never edited: its files match SHA256SUMS, all of them listed."""
    import hashlib

    path = ROOT / "tests" / "data" / folder
    pinned = dict(
        reversed(line.split()) for line in (path / "SHA256SUMS").read_text().splitlines() if line
    )
    assert sorted(pinned) == sorted(p.name for p in path.glob("*.yml"))
    for name, digest in pinned.items():
        assert hashlib.sha256((path / name).read_bytes()).hexdigest() == digest, name
