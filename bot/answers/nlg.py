"""Rasa NLG that sends FAQ answers from the approved content in the database.

`endpoints.yml` names this class under `nlg:`. Every domain response is
rendered as usual; only the retrieval responses `utter_faq/<content_id>`
(which `utter_faq` picks from the ContentSelector's output) are replaced by
the item's current approved answer for the person's channel, and each one
served is recorded in `answers_served`; an item's buttons (its `buttons:` field)
go with its answer. "Did you mean…?" choices
(`utter_faq_suggestions`) and the answer to the one picked
(`utter_faq_chosen`) are rendered here too (bot/answers/suggestions.py). It
runs inside the Rasa server, so
an FAQ turn needs no action-server round trip, and an edited answer is live
as soon as it is loaded (`python -m bot content load`), without retraining.

The generated placeholder responses in data/nlu/faq.yml say that the answer
cannot be looked up: that is what is sent when the database fails (and what
Rasa would send if this class were not configured), never a guess.

The crisis reply `utter_crisis` is rendered from the domain as usual, and the
escalation with its staff alerts is recorded right here, in the Rasa server
(bot/answers/crisis.py), so that its payload carries `escalation_id`; when the
database cannot take it within a few seconds the text is sent anyway (without
the id) and the recording is retried. Clinic facts and crisis lines in every
response come from configuration.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.answers.crisis import record_crisis_turn, turn_from_events
from bot.answers.served import FAQ_INTENT, answer_for, record_unanswered, selected_content
from bot.answers.suggestions import (
    CHOSEN_RESPONSE,
    NONE_CHOICE,
    RELATED_PROMPT,
    SUGGEST_RESPONSE,
    chosen_content_id,
    make_offer,
    record_choice,
    related_choices,
)
from bot.config import Settings, get_settings
from bot.nlu.content_selector import RELATED_KEY
from bot.safety.detector import mentions_suicidality

logger = logging.getLogger(__name__)

FAQ_PREFIX = f"utter_{FAQ_INTENT}/"
FALLBACK = "utter_fallback"
# Added to an answer whose question names suicide or self-harm (SPEC section 6);
# one line of the same message (a blank line would split the answer in two).
RESOURCES_REMINDER = (
    "\nIf you are having thoughts of suicide or self-harm, call or text {line} any time;"
    " in an emergency call {emergency}."
)
CRISIS_RESPONSE = "utter_crisis"
USER_EVENTS_QUOTED = 5  # the crisis turn and the few messages before it


def configured_facts(settings: Settings) -> dict[str, str]:
    """Response variables that always come from configuration (the slots of the same name
    are set at session start, but configuration is the source)."""
    return {
        "clinic_name": settings.clinic.name,
        "clinic_phone": settings.clinic.phone,
        "crisis_line": settings.crisis.line_number,
        "crisis_text_line": settings.crisis.text_line,
        "emergency_number": settings.crisis.emergency_number,
    }


class ContentNaturalLanguageGenerator(TemplatedNaturalLanguageGenerator):
    """Domain responses, except FAQ answers, which come from the content store."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, domain: Domain | None = None):
        super().__init__((domain or Domain.empty()).responses)

    async def generate(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        if utter_action == SUGGEST_RESPONSE:
            return await self._suggestions(tracker, output_channel, **kwargs)
        if utter_action == CHOSEN_RESPONSE:
            return await self._chosen(tracker, output_channel, **kwargs)
        if not utter_action.startswith(FAQ_PREFIX):
            settings = get_settings()
            message = await super().generate(
                utter_action, tracker, output_channel, **{**configured_facts(settings), **kwargs}
            )
            if utter_action == CRISIS_RESPONSE and message is not None:
                await self._record_crisis(settings, tracker, message)
            return message
        selected = selected_content(tracker.latest_message.parse_data)
        confidence = selected[1] if selected else None
        return await self._faq(
            utter_action, utter_action[len(FAQ_PREFIX) :], confidence, tracker, output_channel
        )

    async def _faq(
        self,
        utter_action: str,
        content_id: str,
        confidence: float | None,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        message = tracker.latest_message
        channel = tracker.get_latest_input_channel()
        try:
            # The database call runs in a worker thread so that a slow
            # database never blocks other conversations.
            answer = await asyncio.to_thread(
                answer_for,
                get_settings(),
                content_id=content_id,
                conversation_id=tracker.sender_id,
                channel=channel,
                confidence=confidence,
            )
        except Exception:
            logger.exception("Content store unavailable")
            return await super().generate(utter_action, tracker, output_channel, **kwargs)
        if answer is None:
            # The model knows an item that is no longer approved.
            logger.warning("No approved content for predicted id %s", content_id)
            try:
                await asyncio.to_thread(
                    record_unanswered,
                    conversation_id=tracker.sender_id,
                    channel=channel,
                    text=message.text or "",
                    confidence=confidence,
                )
            except Exception:
                logger.exception("Could not record an unanswered question")
            return await super().generate(FALLBACK, tracker, output_channel, **kwargs)
        text = answer.text
        if mentions_suicidality(message.text or ""):
            crisis = get_settings().crisis
            text += RESOURCES_REMINDER.format(
                line=crisis.line_number, emergency=crisis.emergency_number
            )
        # The item's own buttons (its `buttons:` field), e.g. "Request a call-back"
        # under the booking answer: numbered choices on SMS.
        buttons, payload = list(answer.buttons), answer.payload
        if related := message.parse_data.get(RELATED_KEY):
            # A likely but not certain answer: the runner-up items, one tap away.
            try:
                more, options = await asyncio.to_thread(related_choices, list(related))
            except Exception:
                logger.exception("Content store unavailable")
                more, options = [], []
            if options:
                text += f"\n{RELATED_PROMPT}"
                buttons += more
                payload = {**payload, "related": options}
        reply: dict[str, Any] = {"text": text, "custom": payload}
        if buttons:
            reply["buttons"] = buttons
        return reply

    async def _suggestions(
        self, tracker: DialogueStateTracker, output_channel: str, **kwargs: Any
    ) -> dict[str, Any] | None:
        message = tracker.latest_message
        try:
            offer = await asyncio.to_thread(
                make_offer,
                conversation_id=tracker.sender_id,
                channel=tracker.get_latest_input_channel(),
                text=message.text or "",
                parse=message.parse_data,
            )
        except Exception:
            logger.exception("Content store unavailable")
            offer = None
        if offer is None:
            return await super().generate(FALLBACK, tracker, output_channel, **kwargs)
        return {"text": offer.text, "buttons": offer.buttons, "custom": offer.payload}

    async def _chosen(
        self, tracker: DialogueStateTracker, output_channel: str, **kwargs: Any
    ) -> dict[str, Any] | None:
        content_id = chosen_content_id(tracker.latest_message.parse_data) or NONE_CHOICE
        try:
            marked = await asyncio.to_thread(
                record_choice, conversation_id=tracker.sender_id, content_id=content_id
            )
            if not marked and (asked := _answered_with(tracker, content_id)) is not None:
                selected = selected_content(asked.parse_data)
                await asyncio.to_thread(
                    record_unanswered,
                    conversation_id=tracker.sender_id,
                    channel=tracker.get_latest_input_channel(),
                    text=asked.text or "",
                    confidence=selected[1] if selected else None,
                    kind="related",
                    offered=list(asked.parse_data.get(RELATED_KEY) or []),
                    chosen=content_id,
                )
        except Exception:
            logger.exception("Could not record a suggestion choice")
        if content_id == NONE_CHOICE:
            return await super().generate(FALLBACK, tracker, output_channel, **kwargs)
        return await self._faq(
            f"{FAQ_PREFIX}{content_id}", content_id, None, tracker, output_channel, **kwargs
        )

    @staticmethod
    async def _record_crisis(
        settings: Settings, tracker: DialogueStateTracker, message: dict[str, Any]
    ) -> None:
        """Commit the escalation and its alerts; the id goes into the reply's payload."""
        user_events = [e for e in reversed(tracker.events) if isinstance(e, UserUttered)]
        turn = turn_from_events(
            tracker.sender_id, [e.as_dict() for e in reversed(user_events[:USER_EVENTS_QUOTED])]
        )
        escalation_id = await record_crisis_turn(settings, turn)
        if escalation_id is not None:
            message["custom"] = {
                **(message.get("custom") or {"type": "crisis"}),
                "escalation_id": escalation_id,
            }


def _answered_with(tracker: DialogueStateTracker, content_id: str) -> UserUttered | None:
    """The question just before the pick, if its answer offered `content_id` under it."""
    questions = [e for e in reversed(tracker.events) if isinstance(e, UserUttered)]
    if len(questions) < 2:
        return None
    asked = questions[1]
    return asked if content_id in (asked.parse_data.get(RELATED_KEY) or []) else None
