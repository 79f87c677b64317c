"""The one decision "is this message a crisis?", shared by the Rasa component and the evaluation.

Three tiers (SPEC section 6; thresholds chosen on the dev set, config.yml):

* **protocol** (`crisis`): a reviewed rule matches (`crisis_rules.yml`: the
  floor, a rule match always runs the protocol), or the trained crisis model
  scores at least `protocol_threshold`: resources, escalation, staff alert;
* **direct question** (`crisis_check`): the model scores at least
  `check_threshold`, or the crisis share of the message's nearest training
  messages is at least `neighbour_threshold`; the bot asks whether the
  person is thinking of harming themselves, with 988 and 911 in the same message, and a yes runs the
  protocol. Contact, booking and cancellation requests never get the
  question: a person asking for a call-back is not asked whether they are
  suicidal on an uncertain signal (a rule match or a high score still runs
  the protocol);
* nothing.
"""

from __future__ import annotations

import re
from typing import Any

from bot.safety.patterns import RULE_SET, detect_crisis, normalise

CRISIS_INTENT = "crisis"
CHECK_INTENT = "crisis_check"
LOOKALIKE_INTENT = "crisis_lookalike"  # training data only: never predicted
CRISIS_KEY = "crisis"  # key on the parsed message with how the crisis was detected
# Requests that never get the uncertain-signal question.
NO_QUESTION_INTENTS = frozenset({"request_consultation", "request_human", "cancel"})
# Suicide, self-harm or overdose named in a message that is not a crisis (a
# research or treatment question): the answer ends with a resources line.
_WORDS = RULE_SET.vocabulary
_SUICIDALITY_WORDS = re.compile(
    rf"\b(?:{_WORDS['SUICIDE']}|{_WORDS['SUICIDAL']}|self harm\w*|selfharm\w*|overdos\w*)"
)


def mentions_suicidality(text: str) -> bool:
    """Whether a (non-crisis) message names suicide, self-harm or overdose."""
    return bool(_SUICIDALITY_WORDS.search(normalise(text or "")))


def classify(
    text: str,
    crisis_probability: float | None,
    protocol_threshold: float,
    check_threshold: float,
    predicted_intent: str | None = None,
    neighbour_share: float | None = None,
    neighbour_threshold: float = 1.1,
) -> dict[str, Any] | None:
    """How the message was detected, or None when it shows no crisis signal.

    `crisis_probability` is the crisis model's score (None: no model) and
    `neighbour_share` the crisis share of its nearest training messages. The
    result's `intent` is `crisis` (protocol) or `crisis_check` (ask).
    """
    match = detect_crisis(text)
    if match is not None:
        return {
            "intent": CRISIS_INTENT,
            "detected_by": f"pattern:{match.rule_id}",
            "category": match.category,
        }
    return model_tier(
        crisis_probability,
        protocol_threshold,
        check_threshold,
        predicted_intent,
        neighbour_share,
        neighbour_threshold,
    )


def model_tier(
    crisis_probability: float | None,
    protocol_threshold: float,
    check_threshold: float,
    predicted_intent: str | None = None,
    neighbour_share: float | None = None,
    neighbour_threshold: float = 1.1,
) -> dict[str, Any] | None:
    """The tier from the model's score and the neighbours' share, once no rule matched."""
    if crisis_probability is None:
        return None
    score = round(float(crisis_probability), 3)
    if crisis_probability >= protocol_threshold:
        return {
            "intent": CRISIS_INTENT,
            "detected_by": "model",
            "category": "model",
            "score": score,
        }
    if predicted_intent in NO_QUESTION_INTENTS:
        return None
    if crisis_probability >= check_threshold:
        return {"intent": CHECK_INTENT, "detected_by": "model", "category": "model", "score": score}
    if neighbour_share is not None and neighbour_share >= neighbour_threshold:
        return {
            "intent": CHECK_INTENT,
            "detected_by": "neighbours",
            "category": "model",
            "score": score,
            "neighbours": round(neighbour_share, 3),
        }
    return None
