"""Recording a crisis turn from inside the Rasa server (SPEC section 6).

When the crisis reply is rendered (bot/answers/nlg.py), the escalation and
its staff alerts are committed in one transaction by `bot.staff.escalation`,
in a worker thread and within CRISIS_RECORD_TIMEOUT_SECONDS, so a slow or
failed database never holds back the crisis text. A failure is logged and
retried: by `action_escalate_crisis` (which runs in-process right after the
reply, bot/channels/in_process.py) and then in the background with backoff
until the database takes it. Every path records the turn under the same
message key, so the escalation is recorded once, whichever path succeeds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.config import SMS_CHANNEL, Settings
from bot.staff.escalation import message_key, record_crisis
from bot.store.sms_contacts import sms_number_for

logger = logging.getLogger(__name__)

CRISIS_KEY = "crisis"  # parse-data key set by bot.safety.component.CrisisOverride
CRISIS_INTENTS = ("crisis", "crisis_check")
CONFIRMED = "confirmed by the person"
CRISIS_RECORD_TIMEOUT_SECONDS = 3.0
RETRY_FIRST_SECONDS = 2.0
RETRY_MAX_SECONDS = 60.0
RETRY_ATTEMPTS = 500  # about eight hours at the longest interval

_retries: dict[str, asyncio.Task] = {}


@dataclass(frozen=True)
class CrisisTurn:
    """The user message a crisis reply answers: what staff are told about."""

    conversation_id: str
    channel: str | None
    message_id: str | None
    text: str
    detected_by: str
    note: str | None = None  # an extra line for staff
    resources_given: bool = True  # False: nothing was sent to the person

    @property
    def key(self) -> str | None:
        return message_key(self.conversation_id, self.message_id) if self.message_id else None


def _intent(event: dict[str, Any]) -> str:
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""


def turn_from_events(conversation_id: str, user_events: Iterable[dict[str, Any]]) -> CrisisTurn:
    """The crisis turn from the conversation's user events (dicts, oldest first).

    The latest message is the turn's; its text, unless it is a button payload
    or a "yes" to the direct question, in which case the message with the
    crisis signal before it is quoted.
    """
    events = list(user_events)
    if not events:
        return CrisisTurn(conversation_id, None, None, "", CONFIRMED)
    latest = events[-1]
    text = latest.get("text") or ""
    detection = (latest.get("parse_data") or {}).get(CRISIS_KEY) or {}
    detected_by = detection.get("detected_by") if _intent(latest) == "crisis" else None
    if not detected_by or text.startswith("/"):
        # A "Yes" (button or typed) to the direct question: quote what prompted it.
        for event in reversed(events[:-1]):
            earlier = event.get("text") or ""
            if earlier and not earlier.startswith("/") and _intent(event) in CRISIS_INTENTS:
                text = earlier if text.startswith("/") else f"{earlier} (then: {text})"
                break
    detected_by = detected_by or CONFIRMED
    return CrisisTurn(
        conversation_id=conversation_id,
        channel=latest.get("input_channel"),
        message_id=latest.get("message_id"),
        text=text,
        detected_by=detected_by,
    )


def _record(settings: Settings, turn: CrisisTurn) -> int:
    contact = None
    if turn.channel == SMS_CHANNEL:  # staff can call back; the tracker only has the hash
        try:
            contact = sms_number_for(turn.conversation_id)
        except Exception:
            logger.exception("Could not look up the SMS sender's number")
    return record_crisis(
        settings,
        conversation_id=turn.conversation_id,
        channel=turn.channel,
        message=turn.text,
        detected_by=turn.detected_by,
        contact=contact,
        key=turn.key,
        note=turn.note,
        resources_given=turn.resources_given,
    ).escalation_id


async def record_crisis_turn(
    settings: Settings, turn: CrisisTurn, *, retry: bool = True
) -> int | None:
    """Record the turn's escalation; its id, or None (logged, and retried) on failure."""
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(_record, settings, turn), CRISIS_RECORD_TIMEOUT_SECONDS
        )
    except Exception:
        logger.exception(
            "Could not record the crisis escalation of conversation %s now; retrying",
            turn.conversation_id[:10],
        )
    if retry:
        retry_later(settings, turn)
    return None


def retry_later(settings: Settings, turn: CrisisTurn) -> None:
    """Keep trying to record `turn` in the background (once per message)."""
    name = turn.key or f"{turn.conversation_id}:{id(turn)}"
    if name in _retries:
        return

    async def keep_trying() -> None:
        delay = RETRY_FIRST_SECONDS
        try:
            for attempt in range(1, RETRY_ATTEMPTS + 1):
                await asyncio.sleep(delay)
                try:
                    escalation_id = await asyncio.to_thread(_record, settings, turn)
                except Exception as exc:  # noqa: BLE001 - logged, retried
                    logger.warning(
                        "Retry %d to record the crisis escalation of %s failed: %s",
                        attempt,
                        turn.conversation_id[:10],
                        type(exc).__name__,
                    )
                    delay = min(delay * 2, RETRY_MAX_SECONDS)
                    continue
                logger.warning(
                    "Crisis escalation #%s of %s recorded on retry %d",
                    escalation_id,
                    turn.conversation_id[:10],
                    attempt,
                )
                return
            logger.critical(
                "Gave up recording the crisis escalation of %s", turn.conversation_id[:10]
            )
        finally:
            _retries.pop(name, None)

    try:
        _retries[name] = asyncio.get_running_loop().create_task(keep_trying())
    except RuntimeError:  # no event loop (not in the Rasa server): nothing to schedule on
        logger.critical("Crisis escalation of %s not recorded", turn.conversation_id[:10])


def pending_retries() -> int:
    """How many crisis turns are waiting to be recorded (tests, health)."""
    return len(_retries)
