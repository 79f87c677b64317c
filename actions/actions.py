"""Custom actions: thin adapters from Rasa to the `bot` package."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.leads import ActionRequestHandoff, sms_number
from bot.answers.served import record_unanswered
from bot.config import get_settings
from bot.safety.detector import CRISIS_KEY
from bot.staff.escalation import record_escalation

logger = logging.getLogger(__name__)


def _channel(tracker: Tracker) -> str | None:
    return tracker.get_latest_input_channel()


class ActionSessionStart(Action):
    """Starts each conversation with the clinic's facts and the "not medical advice" notice."""

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        settings = get_settings()
        carried = [
            SlotSet(key, value)
            for key, value in tracker.current_slot_values().items()
            if key == "crisis_flagged" and value
        ]
        facts = [
            SlotSet("clinic_name", settings.clinic.name),
            SlotSet("clinic_phone", settings.clinic.phone),
            SlotSet("crisis_line", settings.crisis.line_number),
            SlotSet("crisis_text_line", settings.crisis.text_line),
            SlotSet("emergency_number", settings.crisis.emergency_number),
        ]
        dispatcher.utter_message(
            response="utter_notice",
            clinic_name=settings.clinic.name,
            emergency_number=settings.crisis.emergency_number,
            crisis_line=settings.crisis.line_number,
        )
        return [SessionStarted(), *facts, *carried, ActionExecuted("action_listen")]


def _last_typed_text(tracker: Tracker) -> str:
    """The person's last typed message (a "Yes" button sends "/crisis" instead)."""
    for event in reversed(tracker.events):
        text = event.get("text") or ""
        if event.get("event") == "user" and text and not text.startswith("/"):
            return text
    return ""


def _previous_turn_fell_back(tracker: Tracker) -> bool:
    """Whether the bot's reply to the user's previous message was a fallback."""
    user_turns = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            user_turns += 1
            if user_turns == 2:
                return False
        elif event.get("event") == "bot" and user_turns == 1:
            custom = (event.get("data") or {}).get("custom") or {}
            if custom.get("type") == "fallback":
                return True
    return False


class ActionHandleFallback(Action):
    """Says honestly that it cannot answer, offers staff, and logs the question.

    The second fallback in a row hands the conversation to staff."""

    def name(self) -> str:
        return "action_handle_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        message = tracker.latest_message
        try:
            record_unanswered(
                conversation_id=tracker.sender_id,
                channel=_channel(tracker),
                text=message.get("text") or "",
                confidence=(message.get("intent") or {}).get("confidence"),
            )
        except Exception:
            logger.exception("Could not record an unanswered question")
        if _previous_turn_fell_back(tracker):
            return await ActionRequestHandoff().run(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_fallback")
        return []


class ActionEscalateCrisis(Action):
    """Records the escalation and queues staff alerts (after utter_crisis was sent)."""

    def name(self) -> str:
        return "action_escalate_crisis"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        detection = tracker.latest_message.get(CRISIS_KEY) or {}
        payload: dict[str, Any] = {"type": "crisis"}
        try:
            payload["escalation_id"] = record_escalation(
                get_settings(),
                conversation_id=tracker.sender_id,
                channel=_channel(tracker),
                message=_last_typed_text(tracker),
                detected_by=detection.get("detected_by", "confirmed by the person"),
                contact=sms_number(tracker),  # SMS: staff can call back
            )
        except Exception:
            # The person already has the crisis resources; staff see the
            # conversation flagged in the tracker store.
            logger.exception("Could not record a crisis escalation")
        dispatcher.utter_message(json_message=payload)
        return [SlotSet("crisis_flagged", True)]
