"""The one decision "is this message a crisis?", shared by the Rasa component and the evaluation.

Two layers with two strengths of response:

* the reviewed phrase/pattern layer (`patterns.py`: slang, misspellings,
  indirect and passive wording, Spanish) decides `crisis`: the full protocol
  (resources, escalation, staff alert);
* the trained `crisis` intent of the NLU model, when the patterns do not
  match, decides `crisis_check`: the bot asks directly whether the person is
  thinking of harming themselves, with 988 and 911 in the same message, and
  a "yes" runs the full protocol. The model alone is a bag-of-words
  classifier that also fires on "I'm reading a book about suicide"; asking is
  the safe-messaging answer to an uncertain signal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.safety.patterns import detect_crisis

CRISIS_INTENT = "crisis"
CHECK_INTENT = "crisis_check"
CRISIS_KEY = "crisis"  # key on the parsed message with how the crisis was detected


def classify(
    text: str,
    intent_ranking: Sequence[dict[str, Any]],
    model_threshold: float,
    predicted_intent: str | None = None,
) -> dict[str, Any] | None:
    """How the message was detected, or None when it shows no crisis signal.

    The model signals a possible crisis when `crisis` is the predicted intent
    (whatever its confidence) or scores at least `model_threshold` anywhere
    in the ranking; that signal alone only ever asks (`crisis_check`).

    The result's `intent` is `crisis` (pattern) or `crisis_check` (model only).
    """
    match = detect_crisis(text)
    if match is not None:
        return {
            "intent": CRISIS_INTENT,
            "detected_by": f"pattern:{match.rule_id}",
            "category": match.category,
        }
    for entry in intent_ranking:
        if entry.get("name") == CRISIS_INTENT and (
            predicted_intent == CRISIS_INTENT or entry.get("confidence", 0.0) >= model_threshold
        ):
            return {
                "intent": CHECK_INTENT,
                "detected_by": "model",
                "category": "model",
                "confidence": round(float(entry["confidence"]), 3),
            }
    return None
