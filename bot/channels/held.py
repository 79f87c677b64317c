"""Turns of a conversation that staff hold (bot/staff/takeover.py), and polling for
what staff write.

While a tracker is paused, Rasa logs the person's message with its NLU parse,
the crisis layer's verdict included, and predicts nothing. `held_reply` then
gives the turn its answer, under the conversation's lock:

* crisis language (a rule match at the channel, or intent `crisis`, or a
  "yes" to the direct question): the crisis reply at once, rendered by the
  NLG, which records the escalation and alerts staff, as in any other state;
* an uncertain signal (`crisis_check`): the direct question;
* anything else: only a receipt (`custom.type: with_staff`), which the widget
  shows as a status line and the SMS channel does not send; staff answer.

Whatever is said is appended to the tracker, so the transcript shows it.
`updates` is the polling endpoint's body for the widget and REST clients.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timezone
from typing import Any

from rasa.shared.core.events import BotUttered
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from bot.answers.nlg import CRISIS_RESPONSE
from bot.config import Settings
from bot.safety.detector import CHECK_INTENT, CRISIS_INTENT
from bot.staff.takeover import first_name_of, hold_of, messages_after, staff_payload
from bot.store.db import session_scope

logger = logging.getLogger(__name__)

WITH_STAFF = "with_staff"
CHECK_RESPONSE = "utter_crisis_check"
AFFIRM_INTENT = "affirm"
POLL_LIMIT = 50


def receipt(staff_name: str | None) -> dict[str, Any]:
    who = f"{staff_name} at the clinic" if staff_name else "the clinic's staff"
    return {
        "text": f"Sent to {who}.",
        "custom": {"type": WITH_STAFF, "staff_name": staff_name},
    }


def is_receipt(messages: list[dict[str, Any]]) -> bool:
    """The turn only told the person that staff have the message (not sent by SMS)."""
    return any((m.get("custom") or {}).get("type") == WITH_STAFF for m in messages)


def holder_name(tracker: Any) -> str | None:
    """The first name on the latest `pause` event (set by the console)."""
    for event in reversed(tracker.events):
        if event.type_name == "pause":
            metadata = event.metadata or {}
            name = metadata.get("staff_name")
            return str(name) if name else first_name_of(str(metadata.get("staff_email") or ""))
    return None


def answered_yes_to_check(tracker: Any) -> bool:
    """A typed "yes" right after the direct question."""
    if (tracker.latest_message.intent or {}).get(INTENT_NAME_KEY) != AFFIRM_INTENT:
        return False
    custom = (tracker.latest_bot_utterance.data or {}).get("custom") or {}
    return custom.get("type") == CHECK_INTENT


async def held_reply(
    agent: Any, settings: Settings, *, sender: str, channel: str, crisis: bool
) -> list[dict[str, Any]] | None:
    """The messages for a turn Rasa did not answer because staff hold the
    conversation; None when the conversation is not held."""
    async with agent.lock_store.lock(sender):
        tracker = await agent.tracker_store.retrieve(sender)
        if tracker is None or not tracker.is_paused():
            return None
        intent = (tracker.latest_message.intent or {}).get(INTENT_NAME_KEY)
        if crisis or intent == CRISIS_INTENT or answered_yes_to_check(tracker):
            message = await agent.nlg.generate(CRISIS_RESPONSE, tracker, channel)
            logger.warning("Crisis message in held conversation %s", sender[:10])
        elif intent == CHECK_INTENT:
            message = await agent.nlg.generate(CHECK_RESPONSE, tracker, channel)
        else:
            message = receipt(holder_name(tracker))
        if not message or not message.get("text"):
            return None  # the caller's fallback answers (the crisis reply, if crisis)
        tracker.update(
            BotUttered(
                message.get("text"),
                {k: v for k, v in message.items() if k in ("buttons", "custom")},
                metadata={"held": True},
            )
        )
        await agent.tracker_store.save(tracker)
    return [message]


def _updates(settings: Settings, conversation_id: str, after: int) -> dict[str, Any]:
    with session_scope(settings.database_url) as session:
        rows = messages_after(session, conversation_id, after, POLL_LIMIT)
        hold = hold_of(session, conversation_id)
        return {
            "messages": [
                {
                    "id": row.id,
                    "text": row.text,
                    "at": row.created_at.replace(tzinfo=timezone.utc).isoformat(),
                    "custom": staff_payload(row.kind, row.staff_name),
                }
                for row in rows
            ],
            "cursor": rows[-1].id if rows else after,
            "with_staff": hold.staff_name if hold else None,
        }


def poll_query(request: Any, sender_ok: Callable[[str], bool]) -> tuple[str, int] | str:
    """(conversation id, cursor) from `?sender=&after=`, or what is wrong with them."""
    sender = request.args.get("sender") or ""
    after = request.args.get("after") or "0"
    if not sender_ok(sender):
        return "A valid conversation id (sender) is required."
    if not after.isdigit() or len(after) > 12:
        return "after must be a message id (a whole number)."
    return sender, int(after)


async def updates(settings: Settings, conversation_id: str, after: int) -> dict[str, Any]:
    """Staff messages after `after` (the client's cursor) and who holds the conversation."""
    return await asyncio.to_thread(_updates, settings, conversation_id, after)
