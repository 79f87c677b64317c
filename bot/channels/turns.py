"""One user message through the bot, for every channel: never an empty reply, never stuck.

All our channels (REST, widget, SMS) call `run_turn` instead of handing the
message to Rasa directly. It

* installs the safeguards on the agent (idempotent, also at server start):
  `ResilientActionEndpoint` (bot/channels/in_process.py: session start and
  the crisis escalation in-process, failed custom actions answered honestly
  and ended cleanly) and a circuit-breaker callback that ends a runaway turn
  with `action_listen`, so the next message is predicted normally instead of
  tripping the breaker again;
* sets the input channel itself (a client cannot choose it) and attaches no
  client metadata;
* answers a turn that Rasa left silent because staff hold the conversation
  (bot/channels/held.py: the crisis reply, the direct question or a receipt);
* guarantees a reply: when the turn raised or said nothing, the person gets
  the crisis reply (a message with crisis language; its escalation is
  recorded here if the NLG could not) or an honest "something went wrong"
  with the clinic's phone and 988;
* after the answer to a message that was cut to MAX_MESSAGE_CHARS, says so.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.constants import ACTION_LISTEN_NAME, REQUESTED_SLOT
from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet

from bot.answers.crisis import CrisisTurn, record_crisis_turn
from bot.answers.nlg import CRISIS_RESPONSE, configured_facts
from bot.answers.unavailable import crisis_text, cut_note, unavailable_message
from bot.channels import action_schema
from bot.channels.held import held_reply
from bot.channels.in_process import ResilientActionEndpoint
from bot.config import Settings
from bot.dialogue import rule_lookup

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def end_runaway_turn(tracker: Any, output_channel: Any, nlg: Any) -> None:
    """Rasa's `on_circuit_break` callback: end the turn as if the bot had listened.

    Without it the tracker has no `action_listen` after the runaway actions, and
    every later message trips the breaker at once.
    """
    logger.error(
        "Circuit breaker tripped for %s: ending the turn with action_listen",
        str(tracker.sender_id)[:10],
    )
    if tracker.active_loop_name:
        tracker.update(ActiveLoop(None))
        tracker.update(SlotSet(REQUESTED_SLOT, None))
    tracker.update(ActionExecuted(ACTION_LISTEN_NAME))


def install_safeguards(agent: Any) -> None:
    """Put the resilient action endpoint and the circuit-breaker repair on `agent`
    and its current processor (a model loaded later gets them from the agent)."""
    if agent is None:
        return
    action_schema.install()
    rule_lookup.install()
    endpoint = agent.action_endpoint
    if not isinstance(endpoint, ResilientActionEndpoint):
        endpoint = ResilientActionEndpoint.wrap(endpoint)
        agent.action_endpoint = endpoint
        logger.info("Custom actions: session start and crisis escalation run in-process")
    processor = getattr(agent, "processor", None)
    if processor is not None:
        if processor.action_endpoint is not endpoint:
            processor.action_endpoint = endpoint
        if processor.on_circuit_break is not end_runaway_turn:
            processor.on_circuit_break = end_runaway_turn


def has_text(messages: list[dict[str, Any]]) -> bool:
    return any(isinstance(m.get("text"), str) and m["text"].strip() for m in messages)


def crisis_message(agent: Any, settings: Settings, channel: str) -> dict[str, Any]:
    """The domain's crisis reply (rendered without a tracker), or the built-in text."""
    nlg = getattr(agent, "nlg", None)
    try:
        message = nlg.generate_from_slots(  # type: ignore[union-attr]
            CRISIS_RESPONSE, configured_facts(settings), channel
        )
    except Exception:
        message = None
    if not message or not message.get("text"):
        return {"text": crisis_text(settings), "custom": {"type": "crisis"}}
    return message


async def run_turn(
    app: Any,
    on_new_message: OnNewMessage,
    *,
    settings: Settings,
    sender: str,
    text: str,
    channel: str,
    collector: CollectingOutputChannel,
    crisis: bool = False,
    cut: bool = False,
) -> list[dict[str, Any]]:
    """Run one user message through the bot; the messages to send back (never empty)."""
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    try:
        install_safeguards(agent)
    except Exception:
        logger.exception("Could not install the action safeguards")
    message_id = uuid.uuid4().hex
    try:
        await on_new_message(
            UserMessage(
                text,
                collector,
                sender,
                input_channel=channel,
                message_id=message_id,
                metadata=None,
            )
        )
    except Exception:
        logger.exception("The %s turn of %s failed", channel, sender[:10])
    if not has_text(collector.messages) and agent is not None:
        try:
            held = await held_reply(agent, settings, sender=sender, channel=channel, crisis=crisis)
        except Exception:
            logger.exception("Could not answer the held conversation %s", sender[:10])
            held = None
        for message in held or []:
            await collector.send_response(sender, message)
    if not has_text(collector.messages):
        logger.error("The %s turn of %s had no reply: sending the fallback", channel, sender[:10])
        if crisis:
            reply = crisis_message(agent, settings, channel)
            turn = CrisisTurn(sender, channel, message_id, text, "pattern (channel fallback)")
            escalation_id = await record_crisis_turn(settings, turn)
            if escalation_id is not None:
                reply["custom"] = {"type": "crisis", "escalation_id": escalation_id}
        else:
            reply = unavailable_message(settings)
        await collector.send_response(sender, reply)
    elif cut and not crisis:
        await collector.send_response(sender, {"text": cut_note(settings)})
    return collector.messages
