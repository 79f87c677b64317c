"""`python -m bot safety eval`: crisis recall and false-positive rate on the labelled set.

Without `--model-url` it measures the phrase/pattern layer alone. With the
URL of a running Rasa server (API enabled), it measures the whole detection
as deployed: the message is parsed by the model and the CrisisOverride
component, and counts as a crisis when the final intent is `crisis`.
"""

from __future__ import annotations

from collections.abc import Callable

import requests

from bot.config import PROJECT_ROOT
from bot.safety.evaluate import load_eval_set, score
from bot.safety.patterns import detect_crisis

EVAL_SET = PROJECT_ROOT / "tests" / "data" / "crisis_eval.yml"


def model_predictor(model_url: str, token: str | None = None) -> Callable[[str], str]:
    """The final intent of a running Rasa server's `/model/parse` for a text."""
    session = requests.Session()

    def predict(text: str) -> str:
        response = session.post(
            f"{model_url.rstrip('/')}/model/parse",
            params={"token": token} if token else None,
            json={"text": text},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["intent"]["name"]

    return predict


def pattern_predictor(text: str) -> bool:
    return detect_crisis(text) is not None


def format_report(name: str, result: dict) -> str:
    lines = [
        f"{name}: recall {result['recall']:.1%} "
        f"({result['counts']['crisis'] - len(result['missed'])}/{result['counts']['crisis']}), "
        f"false-positive rate {result['false_positive_rate']:.1%} "
        f"({len(result['false_positives'])}/{result['counts']['not_crisis']})"
    ]
    lines += [f"  MISSED: {text}" for text in result["missed"]]
    lines += [f"  false positive: {text}" for text in result["false_positives"]]
    return "\n".join(lines)


def main(model_url: str | None = None, token: str | None = None) -> int:
    crisis, not_crisis = load_eval_set(EVAL_SET)
    results = [("pattern layer", score(pattern_predictor, crisis, not_crisis))]
    if model_url:
        results.append(
            ("deployed model", score(model_predictor(model_url, token), crisis, not_crisis))
        )
    for name, result in results:
        print(format_report(name, result))
    failed = any(r["missed"] or r["false_positive_rate"] > 0.05 for _, r in results)
    return 1 if failed else 0
