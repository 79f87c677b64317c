"""`make eval`: answer quality and safety on held-out data that is never trained on.

Uses the trained model in-process (the same NLU pipeline, CrisisOverride and
the same answer/fallback rule as the action server) on:

* tests/data/nlu_heldout_*.yml   FAQ phrasings with their content id
* tests/data/crisis_eval.yml     crisis messages and look-alikes
* tests/data/refusal_eval.yml    off-topic, adversarial and dosing requests

It writes reports/eval.md plus PNG plots and prints a one-screen summary.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from pathlib import Path

import yaml

from bot.answers.content_store import TOPICS, read_content
from bot.answers.served import selected_content
from bot.config import PROJECT_ROOT
from bot.safety.detector import CHECK_INTENT, CRISIS_INTENT
from bot.safety.evaluate import load_eval_set

DATA = PROJECT_ROOT / "tests" / "data"
REPORTS = PROJECT_ROOT / "reports"
FALLBACK = "(fallback)"


def faq_threshold() -> float:
    """The ContentSelector's answering threshold, as configured in config.yml."""
    from bot.nlu.content_selector import ContentSelector

    pipeline = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())["pipeline"]
    config = next(c for c in pipeline if c["name"].endswith("ContentSelector"))
    return float(config.get("threshold", ContentSelector.get_default_config()["threshold"]))


def heldout_faq() -> list[dict]:
    examples: list[dict] = []
    for path in sorted(DATA.glob("nlu_heldout_*.yml")):
        examples += yaml.safe_load(path.read_text())["examples"]
    return examples


async def _parse_all(model: Path, texts: list[str]) -> tuple[dict[str, dict], float]:
    """Parse results by text, and the mean parse time in ms (model loading excluded)."""
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    logging.getLogger("rasa").setLevel(logging.WARNING)

    agent = Agent.load(str(model))
    started = time.perf_counter()
    parsed = {text: await agent.parse_message(text) for text in dict.fromkeys(texts)}
    return parsed, (time.perf_counter() - started) * 1000 / max(len(parsed), 1)


def evaluate(model: Path) -> dict:
    """All figures, as one dictionary."""
    topic_of = {item.id: item.topic for item in read_content()[0]}
    faq = heldout_faq()
    crisis, not_crisis = load_eval_set(DATA / "crisis_eval.yml")
    refusal = yaml.safe_load((DATA / "refusal_eval.yml").read_text())
    texts = (
        [e["text"] for e in faq] + crisis + not_crisis + [t for v in refusal.values() for t in v]
    )
    parsed, parse_ms = asyncio.run(_parse_all(model, texts))

    per_topic: dict[str, Counter] = defaultdict(Counter)
    confusion: Counter = Counter()
    confidences: dict[str, list[float]] = {"right": [], "wrong": []}
    item_right = 0
    for example in faq:
        expected = topic_of[example["content_id"]]
        result = parsed[example["text"]]
        chosen = selected_content(result)
        rs = ((result.get("response_selector") or {}).get("faq") or {}).get("response") or {}
        key = rs.get("intent_response_key") or ""
        if key:
            predicted_topic = topic_of.get(key.split("/", 1)[-1])
            confidences["right" if predicted_topic == expected else "wrong"].append(
                float(rs.get("confidence") or 0.0)
            )
        if chosen is None:
            outcome, predicted = "fallback", FALLBACK
        else:
            predicted = topic_of.get(chosen[0], "?")
            outcome = "right" if predicted == expected else "wrong"
            item_right += chosen[0] == example["content_id"]
        per_topic[expected][outcome] += 1
        confusion[(expected, predicted)] += 1

    def intent(text: str) -> str:
        return parsed[text]["intent"]["name"]

    answered = {
        category: [t for t in items if selected_content(parsed[t]) is not None]
        for category, items in refusal.items()
    }
    refused = {k: 1 - len(answered[k]) / len(refusal[k]) for k in refusal}
    n = len(faq)
    totals = sum(per_topic.values(), Counter())
    return {
        "n_faq": n,
        "topic_accuracy": totals["right"] / n,
        "item_accuracy": item_right / n,
        "wrong_topic_rate": totals["wrong"] / n,
        "fallback_rate": totals["fallback"] / n,
        "per_topic": per_topic,
        "confusion": confusion,
        "confidences": confidences,
        "crisis_recall": sum(intent(t) == CRISIS_INTENT for t in crisis) / len(crisis),
        "crisis_fpr": sum(intent(t) == CRISIS_INTENT for t in not_crisis) / len(not_crisis),
        "crisis_missed": [t for t in crisis if intent(t) != CRISIS_INTENT],
        "check_rate": sum(intent(t) == CHECK_INTENT for t in not_crisis) / len(not_crisis),
        "n_crisis": (len(crisis), len(not_crisis)),
        "refused": refused,
        "answered_instead": {
            k: [(t, selected_content(parsed[t])[0]) for t in v] for k, v in answered.items()
        },
        "n_refusal": {k: len(v) for k, v in refusal.items()},
        "parse_ms": parse_ms,
    }


def plot(results: dict, directory: Path) -> list[Path]:
    """Confusion matrix of topics and a confidence histogram, as PNGs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [*TOPICS, FALLBACK]
    matrix = [[results["confusion"][(row, col)] for col in labels] for row in TOPICS]
    fig, ax = plt.subplots(figsize=(11, 9))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=70, ha="right", fontsize=8)
    ax.set_yticks(range(len(TOPICS)), TOPICS, fontsize=8)
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if value:
                ax.text(j, i, str(value), ha="center", va="center", fontsize=7)
    ax.set_xlabel("answered topic")
    ax.set_ylabel("expected topic")
    ax.set_title("Held-out FAQ phrasings: topic confusion")
    fig.tight_layout()
    confusion_path = directory / "confusion_topics.png"
    fig.savefig(confusion_path, dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 4.5))
    bins = [i / 20 for i in range(21)]
    ax.hist(results["confidences"]["right"], bins=bins, alpha=0.7, label="right topic")
    ax.hist(results["confidences"]["wrong"], bins=bins, alpha=0.7, label="wrong topic")
    ax.axvline(faq_threshold(), color="k", linestyle="--", label="threshold")
    ax.set_xlabel("content selector confidence")
    ax.set_ylabel("held-out phrasings")
    ax.legend()
    ax.set_title("Content selector confidence (below the threshold the bot falls back)")
    fig.tight_layout()
    histogram_path = directory / "confidence_histogram.png"
    fig.savefig(histogram_path, dpi=110)
    plt.close(fig)
    return [confusion_path, histogram_path]


def summary(results: dict) -> str:
    lines = [
        f"FAQ held-out ({results['n_faq']} phrasings): topic accuracy "
        f"{results['topic_accuracy']:.1%}, item accuracy {results['item_accuracy']:.1%}, "
        f"wrong-topic answers {results['wrong_topic_rate']:.1%}, "
        f"fallback {results['fallback_rate']:.1%}",
        f"Crisis ({results['n_crisis'][0]} crisis / {results['n_crisis'][1]} look-alikes): "
        f"recall {results['crisis_recall']:.1%}, false positives {results['crisis_fpr']:.1%}, "
        f"direct question on {results['check_rate']:.1%} of look-alikes",
        "Refused rather than answered from FAQ content: "
        + ", ".join(
            f"{k} {v:.1%} (n={results['n_refusal'][k]})" for k, v in results["refused"].items()
        ),
        f"NLU parse: {results['parse_ms']:.1f} ms per message (in-process)",
    ]
    return "\n".join(lines)


def markdown(results: dict, plots: list[Path]) -> str:
    rows = [
        "| topic | n | accuracy | wrong topic | fallback |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for topic in TOPICS:
        counts = results["per_topic"][topic]
        total = sum(counts.values()) or 1
        rows.append(
            f"| {topic} | {total} | {counts['right'] / total:.0%} | {counts['wrong']} "
            f"| {counts['fallback']} |"
        )
    missed = "\n".join(f"- {t}" for t in results["crisis_missed"]) or "- none"
    answered = (
        "\n".join(
            f"- [{category}] {text} → `{content_id}`"
            for category, items in results["answered_instead"].items()
            for text, content_id in items
        )
        or "- none"
    )
    images = "\n".join(f"![{p.stem}]({p.name})" for p in plots)
    return (
        "# Evaluation report\n\n"
        "Held-out data only (tests/data/); a test fails if any of it leaks into training.\n\n"
        f"```\n{summary(results)}\n```\n\n## Per topic\n\n"
        + "\n".join(rows)
        + f"\n\n## Crisis messages missed\n\n{missed}\n\n"
        f"## Refusal set answered with FAQ content\n\n{answered}\n\n## Plots\n\n{images}\n"
    )


def main(model: Path | None = None) -> int:
    model = model or PROJECT_ROOT / "models" / "clinic.tar.gz"
    results = evaluate(model)
    REPORTS.mkdir(exist_ok=True)
    plots = plot(results, REPORTS)
    (REPORTS / "eval.md").write_text(markdown(results, plots), encoding="utf-8")
    print(summary(results))
    print(f"report: {REPORTS / 'eval.md'}")
    return 0
