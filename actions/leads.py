"""Consultation form, lead submission and handoff to staff (logic lives in bot.staff.leads)."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.config import SMS_CHANNEL, get_settings
from bot.staff.leads import (
    LeadDetails,
    RateLimited,
    clean_name,
    find_email,
    find_name,
    find_phone,
    parse_phone,
    pretty_phone,
    record_handoff,
    save_lead,
)
from bot.staff.office_hours import OfficeHours
from bot.store.sms_contacts import sms_number_for

logger = logging.getLogger(__name__)

LEAD_SLOTS = ("lead_name", "lead_phone", "lead_email", "lead_contact_time", "lead_consent")
SKIPPED = "skipped"
SKIP_WORDS = {"skip", "no", "none", "no email", "n/a", "na", "no thanks", "dont have one"}
ANY_TIME = {"any", "any time", "anytime", "whenever", "doesn't matter", "doesnt matter"}
# Messages with these intents are never taken as a form answer.
NOT_AN_ANSWER = {"crisis", "cancel", "request_human"}
MAX_PHONE_ATTEMPTS = 3
# On SMS, answers that confirm the sender's own number is the one to call.
CONFIRM_WORDS = {"yes", "y", "yeah", "yep", "yes please", "correct", "that's right", "ok", "sure"}


def _text(tracker: Tracker) -> str:
    return (tracker.latest_message.get("text") or "").strip()


def _intent(tracker: Tracker) -> str:
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def _requested(tracker: Tracker, slot: str) -> bool:
    return tracker.get_slot("requested_slot") == slot


def sms_number(tracker: Tracker) -> str | None:
    """The sender's number on the SMS channel, from sms_contacts by the hashed sender id
    (the number is never in the tracker's metadata)."""
    if tracker.get_latest_input_channel() != SMS_CHANNEL:
        return None
    try:
        return sms_number_for(tracker.sender_id)
    except Exception:
        logger.exception("Could not look up the SMS sender's number")
        return None


def reply_expectation() -> str:
    clinic = get_settings().clinic
    hours = OfficeHours.parse(clinic.office_hours, clinic.timezone)
    return hours.reply_expectation(datetime.now(timezone.utc))


class ValidateConsultationForm(FormValidationAction):
    """Extracts details wherever they appear (so inline details pre-fill the form
    and "my number is ..." corrects a value at any step) and validates each one."""

    def name(self) -> str:
        return "validate_consultation_form"

    def _answerable(self, tracker: Tracker) -> bool:
        return _intent(tracker) not in NOT_AN_ANSWER

    async def extract_lead_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._answerable(tracker):
            return {}
        inline = find_name(_text(tracker))
        if inline:
            return {"lead_name": inline}
        if _requested(tracker, "lead_name") and _intent(tracker) != "request_consultation":
            return {"lead_name": _text(tracker)}
        return {}

    async def extract_lead_phone(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._answerable(tracker):
            return {}
        inline = find_phone(_text(tracker), get_settings().phone_default_region)
        if inline:
            return {"lead_phone": inline}
        if _requested(tracker, "lead_phone"):
            own = sms_number(tracker)
            if own and (
                _intent(tracker) == "affirm" or _text(tracker).lower().strip(".! ") in CONFIRM_WORDS
            ):
                return {"lead_phone": own}  # "Is 415-867-5309 the best number?" "Yes"
            if own and _intent(tracker) == "deny":
                return {}  # asked again, without offering the number
            return {"lead_phone": _text(tracker)}
        return {}

    async def extract_lead_email(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._answerable(tracker):
            return {}
        inline = find_email(_text(tracker))
        if inline:
            return {"lead_email": inline}
        if _requested(tracker, "lead_email"):
            return {"lead_email": _text(tracker)}
        return {}

    async def extract_lead_contact_time(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if self._answerable(tracker) and _requested(tracker, "lead_contact_time"):
            return {"lead_contact_time": _text(tracker)}
        return {}

    async def extract_lead_consent(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not _requested(tracker, "lead_consent"):
            return {}
        intent = _intent(tracker)
        if intent == "affirm":
            return {"lead_consent": True}
        if intent == "deny":
            return {"lead_consent": False}
        return {}

    def validate_lead_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        name = clean_name(str(value or ""))
        if name is None:
            dispatcher.utter_message(response="utter_invalid_name")
        return {"lead_name": name}

    def validate_lead_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        phone = parse_phone(str(value or ""), get_settings().phone_default_region)
        if phone is not None:
            return {"lead_phone": phone, "lead_phone_failures": 0.0}
        failures = (tracker.get_slot("lead_phone_failures") or 0) + 1
        if failures >= MAX_PHONE_ATTEMPTS:
            dispatcher.utter_message(response="utter_invalid_phone_offer_call")
        else:
            dispatcher.utter_message(response="utter_invalid_phone")
        return {"lead_phone": None, "lead_phone_failures": float(failures)}

    def validate_lead_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        if text.lower().strip(".! ") in SKIP_WORDS or text == SKIPPED:
            return {"lead_email": SKIPPED}
        email = find_email(text)
        if email is None:
            dispatcher.utter_message(response="utter_invalid_email")
        return {"lead_email": email}

    def validate_lead_contact_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        text = " ".join(str(value or "").split())[:200]
        if text.lower().strip(".! ") in ANY_TIME:
            text = "any time"
        return {"lead_contact_time": text or None}


class ActionAskLeadPhone(Action):
    """Asks for the phone; on SMS offers the sender's number for confirmation instead."""

    def name(self) -> str:
        return "action_ask_lead_phone"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        own = sms_number(tracker)
        declined = _requested(tracker, "lead_phone") and _intent(tracker) == "deny"
        if own and not declined:
            dispatcher.utter_message(response="utter_ask_lead_phone_sms", phone=pretty_phone(own))
        else:
            dispatcher.utter_message(response="utter_ask_lead_phone")
        return []


class ActionSubmitLead(Action):
    """Saves the lead (committed before confirming) and alerts staff through the outbox."""

    def name(self) -> str:
        return "action_submit_lead"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        reset = [SlotSet(slot, None) for slot in LEAD_SLOTS]
        if tracker.get_slot("lead_consent") is not True:
            dispatcher.utter_message(response="utter_lead_no_consent")
            return reset
        email = tracker.get_slot("lead_email")
        details = LeadDetails(
            name=tracker.get_slot("lead_name"),
            phone_e164=tracker.get_slot("lead_phone"),
            email=None if email in (None, SKIPPED) else email,
            contact_time=tracker.get_slot("lead_contact_time"),
        )
        try:
            lead_id, updated = save_lead(
                get_settings(),
                conversation_id=tracker.sender_id,
                channel=tracker.get_latest_input_channel(),
                details=details,
                urgent=bool(tracker.get_slot("crisis_flagged")),
            )
        except RateLimited:
            dispatcher.utter_message(response="utter_lead_rate_limited")
            return reset
        except Exception:
            logger.exception("Could not save a lead")
            dispatcher.utter_message(response="utter_lead_not_saved")
            return reset
        dispatcher.utter_message(
            response="utter_lead_saved",
            name=details.name,
            phone=details.phone_e164,
            reply_expectation=reply_expectation(),
            json_message={"type": "lead", "lead_id": lead_id, "updated": updated},
        )
        return [*reset, SlotSet("known_contact", details.phone_e164)]


class ActionRequestHandoff(Action):
    """Hands the conversation to staff with an honest "what happens next"."""

    def name(self) -> str:
        return "action_request_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        reason = (
            "asked for a person" if _intent(tracker) == "request_human" else "bot could not help"
        )
        contact = tracker.get_slot("known_contact") or sms_number(tracker)
        try:
            handoff_id = record_handoff(
                get_settings(),
                conversation_id=tracker.sender_id,
                channel=tracker.get_latest_input_channel(),
                reason=reason,
                last_message=_text(tracker),
                contact=contact,
            )
        except Exception:
            logger.exception("Could not record a handoff")
            dispatcher.utter_message(response="utter_handoff_failed")
            return []
        dispatcher.utter_message(
            response="utter_handoff",
            reply_expectation=reply_expectation(),
            json_message={"type": "handoff", "handoff_id": handoff_id},
        )
        if not contact:
            dispatcher.utter_message(response="utter_handoff_ask_contact")
        return [SlotSet("handed_off", True)]
