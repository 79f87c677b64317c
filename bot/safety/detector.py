"""The one decision "is this message a crisis?", shared by the Rasa component and the evaluation.

Two layers: the reviewed phrase/pattern layer (recall on slang, misspellings,
indirect wording) and the trained `crisis` intent of the NLU model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.safety.patterns import detect_crisis

CRISIS_INTENT = "crisis"
CRISIS_KEY = "crisis"  # key on the parsed message with how the crisis was detected


def classify(
    text: str, intent_ranking: Sequence[dict[str, Any]], model_threshold: float
) -> dict[str, Any] | None:
    """How the message was detected as a crisis, or None when it is not one."""
    match = detect_crisis(text)
    if match is not None:
        return {"detected_by": f"pattern:{match.rule_id}", "category": match.category}
    for entry in intent_ranking:
        if entry.get("name") == CRISIS_INTENT and entry.get("confidence", 0.0) >= model_threshold:
            return {
                "detected_by": "model",
                "category": "model",
                "confidence": round(float(entry["confidence"]), 3),
            }
    return None
