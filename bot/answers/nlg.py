"""Rasa NLG that sends FAQ answers from the approved content in the database.

`endpoints.yml` names this class under `nlg:`. Every domain response is
rendered as usual; only the retrieval responses `utter_faq/<content_id>`
(which `utter_faq` picks from the ContentSelector's output) are replaced by
the item's current approved answer for the person's channel, and each one
served is recorded in `answers_served`. It runs inside the Rasa server, so
an FAQ turn needs no action-server round trip, and an edited answer is live
as soon as it is loaded (`python -m bot content load`), without retraining.

The generated placeholder responses in data/nlu/faq.yml say that the answer
cannot be looked up: that is what is sent when the database fails (and what
Rasa would send if this class were not configured), never a guess.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.answers.served import FAQ_INTENT, answer_for, record_unanswered, selected_content
from bot.config import get_settings

logger = logging.getLogger(__name__)

FAQ_PREFIX = f"utter_{FAQ_INTENT}/"
FALLBACK = "utter_fallback"


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
        if not utter_action.startswith(FAQ_PREFIX):
            return await super().generate(utter_action, tracker, output_channel, **kwargs)
        content_id = utter_action[len(FAQ_PREFIX) :]
        message = tracker.latest_message
        selected = selected_content(message.parse_data)
        confidence = selected[1] if selected else None
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
        return {"text": answer.text, "custom": answer.payload}
