"""Custom actions: thin adapters from Rasa to the `bot` package.

`action_session_start` and `action_escalate_crisis` are not here: they run in
the Rasa server itself (bot/channels/in_process.py), so a conversation can
start, and a crisis is recorded and staff alerted, while this server is down.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.leads import ActionRequestHandoff
from bot.answers.served import record_unanswered

logger = logging.getLogger(__name__)


def _channel(tracker: Tracker) -> str | None:
    return tracker.get_latest_input_channel()


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


FORMS = ("consultation_form", "callback_form")


class ActionHandleFallback(Action):
    """Says honestly that it cannot answer, offers staff, and logs the question.

    The second fallback in a row hands the conversation to staff, except while
    a form is waiting for an answer: then the form asks its question again
    (forms handle their own fallbacks; this is the safety net)."""

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
        if tracker.active_loop_name in FORMS:
            dispatcher.utter_message(response="utter_lead_question_later")
            return [FollowupAction(tracker.active_loop_name)]
        if _previous_turn_fell_back(tracker):
            return await ActionRequestHandoff().run(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_fallback")
        return []
