"""Consultation form, lead submission, "what happens next", and handoff to staff.

The logic lives in `bot.staff` (parsing: contact_details.py; records: leads.py).
How the form handles a turn (`ValidateConsultationForm.run`):

* an **answer** (anything that is not an interruption): every detail in the
  message is taken (name, phone, email, preferred time, who it is for), the
  pending question is answered from the whole reply, and a reply that answers
  nothing re-asks the question with an example (`lead_prompt` = "retry"); an
  optional question accepts a natural "no" and is left out after two tries;
  the validation always returns a slot then, so Rasa never rejects the form
  and a fallback never becomes a handoff;
* **cancel** ("cancel", "stop", "never mind", …, or goodbye): the form ends
  and nothing is saved;
* an **interruption** (a question, a refusal case, "talk to a person", a
  possible crisis) that answers nothing: the validation returns nothing, Rasa
  rejects the form, the rules in data/rules/leads.yml answer it and run the
  form again, which asks its pending question ("Back to your request: …",
  `lead_prompt` = "resume"). A crisis is the CrisisPolicy's: the protocol
  runs and the form ends (its details are kept for a call-back).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.answers.served import record_unanswered
from bot.config import SMS_CHANNEL, get_settings
from bot.staff.contact_details import (
    asks_what_next,
    find_contact_time,
    find_email,
    find_name,
    find_phone,
    is_cancel,
    is_decline,
    is_question,
    looks_like_phone_attempt,
    pretty_phone,
    relation,
    yes_or_no,
)
from bot.staff.leads import LeadDetails, RateLimited, lead_state, record_handoff, save_lead
from bot.staff.office_hours import OfficeHours
from bot.store.sms_contacts import sms_number_for

logger = logging.getLogger(__name__)

FORM = "consultation_form"
LEAD_SLOTS = ("lead_name", "lead_phone", "lead_email", "lead_contact_time", "lead_consent")
OPTIONAL_SLOTS = ("lead_email", "lead_contact_time")
# Per-turn state of the form: how to word the next question, failed tries, outcome.
STATE_SLOTS = ("lead_prompt", "lead_retries", "lead_cancelled", "lead_for", "lead_phone_failures")
SKIPPED = "skipped"
ANY_TIME = "any time"
RETRY, RESUME = "retry", "resume"
MAX_PHONE_ATTEMPTS = 3
MAX_NAME_ATTEMPTS = 3
MAX_OPTIONAL_ATTEMPTS = 2
PLAIN_ANSWER_MAX_WORDS = 5
# Intents that, when a message answers nothing, are handled by a rule and the form resumes.
INTERRUPTIONS = frozenset(
    {
        "faq",
        "faq_uncertain",
        "faq_choose",
        "ask_personal_dose",
        "ask_obtain_ketamine",
        "ask_recreational_use",
        "ask_diagnosis",
        "ask_guarantee",
        "ask_other_medical",
        "adversarial",
        "out_of_scope",
        "bot_challenge",
        "express_distress",
        "request_human",
        "crisis_check",
    }
)
CANCEL_INTENTS = frozenset({"cancel", "goodbye"})
CRISIS = "crisis"


# ---- reading the tracker --------------------------------------------------------


def _text(tracker: Tracker) -> str:
    return (tracker.latest_message.get("text") or "").strip()


def _intent(tracker: Tracker) -> str:
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


FORMS = ("consultation_form", "callback_form")


def _latest_action(tracker: Tracker) -> str | None:
    """The action before this form step: `action_listen` on an ordinary turn, something
    else (utter_faq, …) when the form resumes after an interruption. Rasa puts the
    form's own ActionExecuted at the end of the tracker it sends the validation."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return None
        if event.get("event") == "action" and event.get("name") not in FORMS:
            return event.get("name")
    return None


def _session_user_texts(tracker: Tracker) -> list[str]:
    """The texts of this session's user messages before the latest one (oldest first)."""
    texts: list[str] = []
    for event in tracker.events:
        if event.get("event") == "session_started":
            texts = []
        elif event.get("event") == "user":
            texts.append(event.get("text") or "")
    return [t for t in texts[:-1] if t and not t.startswith("/")]


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


def known_phone(tracker: Tracker, region: str) -> str | None:
    """A number the person already gave in this conversation (a saved request, the form,
    or any earlier message), newest first."""
    for slot in ("known_contact", "lead_phone"):
        value = tracker.get_slot(slot)
        if isinstance(value, str) and value.startswith("+"):
            return value
    for text in reversed(_session_user_texts(tracker)):
        phone = find_phone(text, region)
        if phone:
            return phone
    return None


def reply_expectation() -> str:
    clinic = get_settings().clinic
    hours = OfficeHours.parse(clinic.office_hours, clinic.timezone)
    return hours.reply_expectation(datetime.now(timezone.utc))


# ---- the consultation form --------------------------------------------------------


@dataclass
class Turn:
    """One user message as the form sees it."""

    text: str
    intent: str
    requested: str | None
    region: str
    values: dict[str, Any] = field(default_factory=dict)  # slot -> value found

    @classmethod
    def of(cls, tracker: Tracker) -> Turn:
        return cls(
            text=_text(tracker),
            intent=_intent(tracker),
            requested=tracker.get_slot("requested_slot"),
            region=get_settings().phone_default_region,
        )


def _details(text: str, region: str, *, asked: str | None) -> dict[str, Any]:
    """Every detail written in `text` (a name only with a cue, unless the name was asked)."""
    found: dict[str, Any] = {}
    name = find_name(text, asked=asked == "lead_name", region=region)
    if name:
        found["lead_name"] = name
    phone = find_phone(text, region)
    if phone:
        found["lead_phone"] = phone
    email = find_email(text)
    if email:
        found["lead_email"] = email
    when = find_contact_time(text)
    if when and not (asked == "lead_name" and "lead_name" in found and when == ANY_TIME):
        found["lead_contact_time"] = when
    about = relation(text)
    if about:
        found["lead_for"] = about
    return found


class ValidateConsultationForm(FormValidationAction):
    """Validates each turn of the consultation form (see the module docstring)."""

    def name(self) -> str:
        return "validate_consultation_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        turn = Turn.of(tracker)
        if turn.requested and _latest_action(tracker) is not None:
            # Back after an interruption (an FAQ answer, a refusal, a "no" to the crisis check).
            return [SlotSet("lead_prompt", RESUME)]
        if turn.intent == CRISIS:
            return []  # the CrisisPolicy runs the protocol and ends the form
        if turn.text.startswith("/") and turn.intent in INTERRUPTIONS:
            return []  # a button ("did you mean …", "talk to a person")
        if not turn.requested:
            return self._activation(tracker, turn)
        return self._answer(dispatcher, tracker, turn)

    # The first turn: the request itself, plus what was said earlier in the conversation.
    def _activation(self, tracker: Tracker, turn: Turn) -> list[EventType]:
        found = _details(turn.text, turn.region, asked=None)
        for text in reversed(_session_user_texts(tracker)):
            for slot, value in _details(text, turn.region, asked=None).items():
                if slot in ("lead_name", "lead_phone", "lead_email", "lead_for"):
                    found.setdefault(slot, value)
        phone = tracker.get_slot("known_contact")
        if phone and not found.get("lead_phone"):
            found["lead_phone"] = phone
        if tracker.get_latest_input_channel() == SMS_CHANNEL and found.get("lead_phone"):
            # SMS: a number typed in the text wins; otherwise the sender's is offered.
            if not find_phone(turn.text, turn.region):
                found.pop("lead_phone")
        events: list[EventType] = [SlotSet("lead_prompt", None), SlotSet("lead_retries", 0.0)]
        events += [SlotSet("lead_cancelled", None), SlotSet("lead_consent", None)]
        if tracker.get_slot("lead_for") and "lead_for" not in found:
            events.append(SlotSet("lead_for", None))
        events += [SlotSet(slot, value) for slot, value in found.items()]
        return events

    def _answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, turn: Turn
    ) -> list[EventType]:
        requested = turn.requested
        text = turn.text
        if turn.intent == "crisis_check" and not self._plain_answer(turn):
            # A possible crisis (the model alone): the rule asks the direct question, then
            # the form resumes. A short reply that is plainly the answer to the question
            # ("Kim" to the name question, "I don't have one" to the email question) is
            # taken as that answer; crisis language itself is "crisis", never this.
            return []
        # The answers that decide alone: consent, declining an optional question, cancel.
        if requested == "lead_consent":
            found = self._changes(tracker, _details(text, turn.region, asked=None))
            if found:  # a correction: show the new summary and ask again
                return self._set(found, prompt=None)
            consent = yes_or_no(text, turn.intent)
            if consent is not None:
                return [SlotSet("lead_consent", consent), SlotSet("lead_prompt", None)]
        if requested in OPTIONAL_SLOTS and is_decline(text):
            return self._set({requested: SKIPPED}, prompt=None)
        if (
            is_cancel(text)
            or turn.intent in CANCEL_INTENTS
            and not _details(text, turn.region, asked=requested)
        ):
            return [
                SlotSet("lead_cancelled", True),
                SlotSet("requested_slot", None),
            ]

        details = _details(text, turn.region, asked=requested)
        if turn.intent in INTERRUPTIONS and is_question(text):
            details.pop("lead_contact_time", None)  # "are you open on saturdays?" is a question
        found = self._changes(tracker, details)
        value = found.get(requested) if requested else None
        if requested == "lead_phone" and value is None:
            value = self._phone_reply(tracker, turn)
            if value:
                found[requested] = value
        if value is not None or found:
            return self._set(found, prompt=None)

        # Nothing in the message answers anything.
        if turn.intent in INTERRUPTIONS and not self._attempted(turn):
            return []  # a rule answers it, then the form asks its question again
        return self._retry(dispatcher, tracker, turn)

    @staticmethod
    def _plain_answer(turn: Turn) -> bool:
        """A short reply that is exactly an answer to the pending question."""
        if len(turn.text.split()) > PLAIN_ANSWER_MAX_WORDS:
            return False
        requested, text = turn.requested, turn.text
        if requested in OPTIONAL_SLOTS and is_decline(text):
            return True
        if requested == "lead_consent":
            return yes_or_no(text) is not None
        return requested in _details(text, turn.region, asked=requested)

    @staticmethod
    def _changes(tracker: Tracker, found: dict[str, Any]) -> dict[str, Any]:
        """Only the details that differ from what the form already has."""
        return {slot: value for slot, value in found.items() if tracker.get_slot(slot) != value}

    @staticmethod
    def _set(found: dict[str, Any], *, prompt: str | None) -> list[EventType]:
        events: list[EventType] = [SlotSet(slot, value) for slot, value in found.items()]
        if "lead_phone" in found:
            events.append(SlotSet("lead_phone_failures", 0.0))
        return [*events, SlotSet("lead_prompt", prompt), SlotSet("lead_retries", 0.0)]

    @staticmethod
    def _attempted(turn: Turn) -> bool:
        """The reply looks like a try at the pending question (digits for a phone, an @),
        or is no question at all ("my phone is broken"): it is re-asked, not answered."""
        if turn.requested == "lead_phone" and looks_like_phone_attempt(turn.text):
            return True
        if turn.requested == "lead_email" and "@" in turn.text:
            return True
        return turn.intent == "out_of_scope" and not is_question(turn.text)

    @staticmethod
    def _phone_reply(tracker: Tracker, turn: Turn) -> str | None:
        """SMS: "yes" to "Is (415) 867-5309 the best number?" means the sender's number."""
        own = sms_number(tracker)
        if own and tracker.get_slot("lead_prompt") != "other_number":
            if yes_or_no(turn.text, turn.intent) is True:
                return own
        return None

    def _retry(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, turn: Turn
    ) -> list[EventType]:
        requested = turn.requested or ""
        tries = int(tracker.get_slot("lead_retries") or 0) + 1
        if turn.intent == "nlu_fallback" and is_question(turn.text):
            try:
                record_unanswered(
                    conversation_id=tracker.sender_id,
                    channel=tracker.get_latest_input_channel(),
                    text=turn.text,
                    confidence=(tracker.latest_message.get("intent") or {}).get("confidence"),
                )
            except Exception:
                logger.exception("Could not record an unanswered question")
            dispatcher.utter_message(response="utter_lead_question_later")
        if requested in OPTIONAL_SLOTS and tries >= MAX_OPTIONAL_ATTEMPTS:
            left_out = (
                "utter_lead_email_left_out"
                if requested == "lead_email"
                else "utter_lead_contact_time_left_out"
            )
            dispatcher.utter_message(response=left_out)
            return self._set({requested: SKIPPED}, prompt=None)
        if requested == "lead_phone":
            own = sms_number(tracker)
            if own and yes_or_no(turn.text, turn.intent) is False:
                # "No" to the sender's number: ask for another one, without offering it.
                return [SlotSet("lead_prompt", "other_number"), SlotSet("lead_retries", 0.0)]
            # Every failed try counts; the third one offers the clinic's number.
            failures = int(tracker.get_slot("lead_phone_failures") or 0) + 1
            prompt = "invalid" if looks_like_phone_attempt(turn.text) else RETRY
            return [
                SlotSet("lead_phone_failures", float(failures)),
                SlotSet("lead_prompt", "offer_call" if failures >= MAX_PHONE_ATTEMPTS else prompt),
                SlotSet("lead_retries", float(tries)),
            ]
        if requested == "lead_name" and tries >= MAX_NAME_ATTEMPTS:
            return [SlotSet("lead_prompt", "offer_call"), SlotSet("lead_retries", float(tries))]
        return [SlotSet("lead_prompt", RETRY), SlotSet("lead_retries", float(tries))]


def _prefix(tracker: Tracker) -> str:
    return "Back to your request: " if tracker.get_slot("lead_prompt") == RESUME else ""


def _first_name(tracker: Tracker) -> str:
    name = tracker.get_slot("lead_name") or ""
    return name.split()[0] if name else ""


class AskLeadSlot(Action):
    """Asks one question of the form: first time, again with an example, or after an
    interruption ("Back to your request: …")."""

    slot = ""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    def prompt(self, tracker: Tracker) -> str | None:
        return tracker.get_slot("lead_prompt")

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        self.ask(dispatcher, tracker, self.prompt(tracker))
        return []

    def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, prompt: str | None) -> None:
        raise NotImplementedError


class ActionAskLeadName(AskLeadSlot):
    slot = "lead_name"

    def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, prompt: str | None) -> None:
        if prompt == RETRY:
            dispatcher.utter_message(response="utter_ask_lead_name_retry")
        elif prompt == "offer_call":
            dispatcher.utter_message(response="utter_ask_lead_name_offer_call")
        elif prompt == RESUME:
            dispatcher.utter_message(response="utter_ask_lead_name_resume")
        elif tracker.get_slot("lead_for"):
            dispatcher.utter_message(
                response="utter_ask_lead_name_for",
                prefix=_prefix(tracker),
                relation=tracker.get_slot("lead_for"),
            )
        else:
            dispatcher.utter_message(response="utter_ask_lead_name", prefix=_prefix(tracker))


class ActionAskLeadPhone(AskLeadSlot):
    """Asks for the phone; on SMS offers the sender's number for confirmation instead."""

    slot = "lead_phone"

    def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, prompt: str | None) -> None:
        if prompt == "invalid":
            dispatcher.utter_message(response="utter_invalid_phone")
            return
        if prompt == "offer_call":
            dispatcher.utter_message(response="utter_invalid_phone_offer_call")
            return
        own = sms_number(tracker)
        first = _first_name(tracker)
        thanks = f"Thanks, {first}. " if first and prompt != RESUME else ""
        if prompt == RETRY:
            dispatcher.utter_message(response="utter_ask_lead_phone_retry")
        elif own and prompt != "other_number":
            dispatcher.utter_message(
                response="utter_ask_lead_phone_sms",
                prefix=_prefix(tracker),
                thanks=thanks,
                phone=pretty_phone(own),
            )
        else:
            dispatcher.utter_message(
                response="utter_ask_lead_phone", prefix=_prefix(tracker), thanks=thanks
            )


class ActionAskLeadEmail(AskLeadSlot):
    slot = "lead_email"

    def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, prompt: str | None) -> None:
        if prompt == RETRY:
            dispatcher.utter_message(response="utter_invalid_email")
        else:
            dispatcher.utter_message(response="utter_ask_lead_email", prefix=_prefix(tracker))


class ActionAskLeadContactTime(AskLeadSlot):
    slot = "lead_contact_time"

    def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, prompt: str | None) -> None:
        if prompt == RETRY:
            dispatcher.utter_message(response="utter_ask_lead_contact_time_retry")
        else:
            dispatcher.utter_message(
                response="utter_ask_lead_contact_time", prefix=_prefix(tracker)
            )


def lead_summary(tracker: Tracker) -> str:
    """ "Dana Whitfield (for your mother), (312) 555-0199, dana@example.com, best time: …" """
    name = tracker.get_slot("lead_name") or ""
    about = tracker.get_slot("lead_for")
    parts = [f"{name} (for your {about})" if about else name]
    phone = tracker.get_slot("lead_phone")
    if phone:
        parts.append(pretty_phone(phone))
    email = tracker.get_slot("lead_email")
    if email and email != SKIPPED:
        parts.append(email)
    when = tracker.get_slot("lead_contact_time")
    parts.append(f"best time: {ANY_TIME if when in (None, SKIPPED) else when}")
    return ", ".join(p for p in parts if p)


class ActionAskLeadConsent(AskLeadSlot):
    slot = "lead_consent"

    def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, prompt: str | None) -> None:
        response = "utter_ask_lead_consent_retry" if prompt == RETRY else "utter_ask_lead_consent"
        dispatcher.utter_message(
            response=response, prefix=_prefix(tracker), summary=lead_summary(tracker)
        )


class ActionSubmitLead(Action):
    """Ends the form: saves the lead (committed before confirming) and alerts staff
    through the outbox, or says that nothing was saved (cancelled, no consent)."""

    def name(self) -> str:
        return "action_submit_lead"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        state = [SlotSet(slot, None) for slot in STATE_SLOTS if slot != "lead_phone_failures"]
        state.append(SlotSet("lead_phone_failures", 0.0))
        reset = [*(SlotSet(slot, None) for slot in LEAD_SLOTS), *state]
        if tracker.get_slot("lead_cancelled"):
            dispatcher.utter_message(response="utter_lead_cancelled")
            return reset
        if tracker.get_slot("lead_consent") is not True:
            dispatcher.utter_message(response="utter_lead_no_consent")
            return reset
        email = tracker.get_slot("lead_email")
        when = tracker.get_slot("lead_contact_time")
        details = LeadDetails(
            name=tracker.get_slot("lead_name"),
            phone_e164=tracker.get_slot("lead_phone"),
            email=None if email in (None, SKIPPED) else email,
            contact_time=None if when in (None, SKIPPED) else when,
            booking_for=tracker.get_slot("lead_for"),
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
            response="utter_lead_updated" if updated else "utter_lead_saved",
            name=details.name.split()[0],
            phone=pretty_phone(details.phone_e164),
            reply_expectation=reply_expectation(),
            json_message={"type": "lead", "lead_id": lead_id, "updated": updated},
        )
        # The details stay in the conversation: a second request starts from them and
        # updates this lead; "what happens next?" is answered from `lead_id`.
        return [
            SlotSet("lead_consent", None),
            *state,
            SlotSet("known_contact", details.phone_e164),
            SlotSet("lead_id", float(lead_id)),
            SlotSet("lead_saved", True),
        ]


# ---- after a request was saved ---------------------------------------------------


def _clock(moment: datetime, zone: Any) -> str:
    local = moment.replace(tzinfo=timezone.utc).astimezone(zone)
    return local.strftime("%I:%M %p").lstrip("0")


def what_happens_next(tracker: Tracker) -> tuple[str, dict[str, Any]]:
    """The response (and its variables) answering "what happens next?" from the lead's
    state in the database and the office hours."""
    clinic = get_settings().clinic
    lead_id = int(tracker.get_slot("lead_id") or 0)
    state = lead_state(lead_id) if lead_id else None
    if state is None:
        return "utter_lead_next_unknown", {}
    hours = OfficeHours.parse(clinic.office_hours, clinic.timezone)
    when = state.contact_time
    variables = {
        "lead_id": state.lead_id,
        "phone": pretty_phone(state.phone_e164),
        "best_time": f" They'll aim for your preferred time ({when})." if when else "",
        "saved_at": _clock(state.created_at, hours.zone),
        "reply_expectation": hours.reply_expectation(datetime.now(timezone.utc)),
    }
    if state.status == "contacted":
        return "utter_lead_next_contacted", variables
    if state.status == "resolved":
        return "utter_lead_next_resolved", variables
    return "utter_lead_next_new", variables


class ActionAfterLead(Action):
    """After a saved request: "what happens next?" / "when will you call?" get the
    request's state; anything else is answered as usual (a new request updates the lead)."""

    def name(self) -> str:
        return "action_after_lead"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text, intent = _text(tracker), _intent(tracker)
        if asks_what_next(text):
            try:
                response, variables = what_happens_next(tracker)
            except Exception:
                logger.exception("Could not read the lead's state")
                response, variables = "utter_lead_next_unknown", {}
            dispatcher.utter_message(response=response, **variables)
            return []
        if intent == "request_consultation":
            return [FollowupAction(FORM)]
        if intent == "nlu_fallback":
            from actions.actions import ActionHandleFallback

            return await ActionHandleFallback().run(dispatcher, tracker, domain)
        if intent == "faq":
            selector = (tracker.latest_message.get("response_selector") or {}).get("faq") or {}
            key = (selector.get("response") or {}).get("intent_response_key") or ""
            if key.startswith("faq/"):
                dispatcher.utter_message(response=f"utter_{key}")
                return []
        if intent == "faq_uncertain":
            dispatcher.utter_message(response="utter_faq_suggestions")
            return []
        dispatcher.utter_message(response="utter_out_of_scope")
        return []


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
        contact = (
            tracker.get_slot("known_contact")
            or tracker.get_slot("lead_phone")
            or sms_number(tracker)
        )
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
