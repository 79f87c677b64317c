"""The crisis call-back: after the protocol, a "yes" to the call-back asks only for a number.

`callback_form` has one question, the phone number. A number the person
already gave in the conversation (or, on SMS, the number they text from) is
offered for a yes. The number goes on the conversation's escalation (contact
known, call-back requested) with an URGENT staff alert
(`bot.staff.escalation.record_callback`); no consultation lead is created.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.leads import _intent, _latest_action, _text, known_phone, sms_number
from bot.config import get_settings
from bot.staff.contact_details import (
    find_phone,
    is_cancel,
    looks_like_phone_attempt,
    pretty_phone,
    yes_or_no,
)
from bot.staff.escalation import record_callback
from bot.staff.office_hours import OfficeHours

logger = logging.getLogger(__name__)

CALLBACK_SLOTS = ("callback_phone", "callback_offer", "callback_prompt", "callback_failures")
MAX_ATTEMPTS = 3
# After the protocol, "call me" is the call-back; asking for a consultation by name is a lead.
CONSULTATION_WORDS = re.compile(
    r"\b(?:consult\w*|appointment|book(?:ing)?|schedul\w*|sign (?:me )?up|intake|"
    r"get started|start treatment|infusion|spravato)\b",
    re.IGNORECASE,
)


class ActionCrisisContactRequest(Action):
    """A request to be contacted after the crisis protocol: the call-back (a number only),
    unless the person asks for a consultation by name ("I'd like to book a consultation")."""

    def name(self) -> str:
        return "action_crisis_contact_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if CONSULTATION_WORDS.search(_text(tracker)):
            return [FollowupAction("consultation_form")]
        return [FollowupAction("callback_form")]


def offered_number(tracker: Tracker) -> str | None:
    """The number to offer: one given in this conversation, else the SMS sender's."""
    if tracker.get_slot("callback_prompt") == "other_number":
        return None
    return known_phone(tracker, get_settings().phone_default_region) or sms_number(tracker)


class ValidateCallbackForm(FormValidationAction):
    def name(self) -> str:
        return "validate_callback_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text, intent = _text(tracker), _intent(tracker)
        region = get_settings().phone_default_region
        requested = tracker.get_slot("requested_slot")
        if requested and _latest_action(tracker) is not None:
            return [SlotSet("callback_prompt", None)]  # back after an FAQ answer
        if intent == "crisis":
            return []  # the protocol runs again (CrisisPolicy) and ends this form
        phone = find_phone(text, region)
        if phone:
            return [SlotSet("callback_phone", phone), SlotSet("callback_prompt", None)]
        if not requested:
            return [SlotSet("callback_prompt", None), SlotSet("callback_failures", 0.0)]
        offer = tracker.get_slot("callback_offer")
        answer = yes_or_no(text, intent)
        if offer and answer is True:
            return [SlotSet("callback_phone", offer), SlotSet("callback_prompt", None)]
        if offer and answer is False:
            return [SlotSet("callback_prompt", "other_number"), SlotSet("callback_offer", None)]
        if is_cancel(text) or intent in ("cancel", "deny") or answer is False:
            return [SlotSet("callback_prompt", "cancelled"), SlotSet("requested_slot", None)]
        if intent == "faq" and not looks_like_phone_attempt(text):
            return []  # a rule answers the question, then the form asks again
        failures = int(tracker.get_slot("callback_failures") or 0) + 1
        if failures >= MAX_ATTEMPTS:
            return [SlotSet("callback_prompt", "gave_up"), SlotSet("requested_slot", None)]
        prompt = "invalid" if looks_like_phone_attempt(text) else "retry"
        return [SlotSet("callback_prompt", prompt), SlotSet("callback_failures", float(failures))]


class ActionAskCallbackPhone(Action):
    def name(self) -> str:
        return "action_ask_callback_phone"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        prompt = tracker.get_slot("callback_prompt")
        if prompt == "invalid":
            dispatcher.utter_message(response="utter_callback_invalid_phone")
            return []
        offer = None if prompt == "retry" else offered_number(tracker)
        if offer:
            dispatcher.utter_message(response="utter_ask_callback_offer", phone=pretty_phone(offer))
        elif prompt == "retry":
            dispatcher.utter_message(response="utter_ask_callback_phone_retry")
        else:
            dispatcher.utter_message(response="utter_ask_callback_phone")
        return [SlotSet("callback_offer", offer)]


def callback_expectation(now: datetime | None = None) -> str:
    """When the care team is likely to call, honestly, from the office hours."""
    clinic = get_settings().clinic
    hours = OfficeHours.parse(clinic.office_hours, clinic.timezone)
    now = now or datetime.now(timezone.utc)
    if hours.is_open(now):
        return "Our team is in the office now."
    opening = hours.next_opening(now)
    if opening is None:
        return "Our office is closed right now, so the call may take a while."
    local = now.astimezone(hours.zone)
    day = (
        "today"
        if opening.date() == local.date()
        else "tomorrow"
        if (opening.date() - local.date()).days == 1
        else f"on {opening:%A}"
    )
    clock = opening.strftime("%I:%M %p").lstrip("0")
    return f"Our office is closed right now, so the call may not come until {day} after {clock}."


class ActionSubmitCallback(Action):
    """Puts the number on the escalation (committed before confirming) and alerts staff."""

    def name(self) -> str:
        return "action_submit_callback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        reset = [SlotSet(slot, None) for slot in CALLBACK_SLOTS]
        prompt = tracker.get_slot("callback_prompt")
        phone = tracker.get_slot("callback_phone")
        if prompt == "cancelled" or not phone:
            response = (
                "utter_callback_gave_up" if prompt == "gave_up" else "utter_crisis_no_callback"
            )
            dispatcher.utter_message(response=response)
            return reset
        try:
            recorded = record_callback(
                get_settings(),
                conversation_id=tracker.sender_id,
                channel=tracker.get_latest_input_channel(),
                phone_e164=phone,
            )
        except Exception:
            logger.exception("Could not record a crisis call-back")
            dispatcher.utter_message(response="utter_callback_failed")
            return reset
        dispatcher.utter_message(
            response="utter_callback_saved",
            phone=pretty_phone(phone),
            expectation=callback_expectation(),
            json_message={
                "type": "crisis",
                "escalation_id": recorded.escalation_id,
                "callback": True,
            },
        )
        return [*reset, SlotSet("callback_requested", True), SlotSet("known_contact", phone)]
