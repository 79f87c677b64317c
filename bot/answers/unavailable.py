"""Honest replies for when something failed (SPEC section 4: never an empty list).

Used in the Rasa server when a custom action cannot run (the action server is
down, slow or failing: bot/channels/in_process.py) and when a whole turn
fails (bot/channels/turns.py). Every one names the clinic's phone and the
crisis line; the texts come from configuration, not from the model, so they
need no retraining and no database.
"""

from __future__ import annotations

from bot.config import Settings

GENERAL = "general"
CONSULTATION = "consultation"
HANDOFF = "handoff"


def _safety_line(settings: Settings) -> str:
    crisis = settings.crisis
    return (
        f"If you are thinking about harming yourself, call or text {crisis.line_number} now, "
        f"or call {crisis.emergency_number} in an emergency."
    )


def unavailable_text(settings: Settings, kind: str = GENERAL) -> str:
    """What the person is told when the bot cannot do what they asked for right now."""
    clinic = settings.clinic
    if kind == CONSULTATION:
        first = (
            "I'm sorry, I can't take your details right now because of a technical problem "
            f"on our side, and nothing has been saved. Please call {clinic.name} at "
            f"{clinic.phone} to ask for a consultation."
        )
    elif kind == HANDOFF:
        first = (
            "I'm sorry, I can't pass this on to our staff right now because of a technical "
            f"problem on our side. Please call {clinic.name} at {clinic.phone} to talk to a person."
        )
    else:
        first = (
            "I'm sorry, something went wrong on our side, so I can't help with that right now. "
            f"Please call {clinic.name} at {clinic.phone}."
        )
    return f"{first} {_safety_line(settings)}"


def unavailable_message(settings: Settings, kind: str = GENERAL) -> dict:
    """The reply as a Rasa message: the text and the SPEC section 4 `fallback` payload."""
    return {"text": unavailable_text(settings, kind), "custom": {"type": "fallback"}}


def crisis_text(settings: Settings) -> str:
    """The crisis reply when even the domain response cannot be rendered (no model loaded)."""
    crisis = settings.crisis
    return (
        "I'm really glad you told me, and I'm sorry you're going through this. Please call or "
        f"text {crisis.line_number} now to reach the Suicide & Crisis Lifeline (free, 24/7). "
        f"If you are in immediate danger, call {crisis.emergency_number}. You can also "
        f"{crisis.text_line} to reach the Crisis Text Line."
    )


def cut_note(settings: Settings) -> str:
    """Said after the answer to a message that was cut to MAX_MESSAGE_CHARS."""
    return (
        f"Your message was very long, so I read only its first {settings.max_message_chars:,} "
        "characters. You can send the rest as another message."
    )
