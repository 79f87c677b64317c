"""The action endpoint as the Rasa server uses it: the safety path in-process, the rest fail-safe.

Rasa 3.6 runs every custom action through `RemoteAction`, which calls
`EndpointConfig.request()` of the agent's action endpoint (forms call their
`validate_<form>` and `action_ask_<slot>` actions the same way). When that
call fails, `RemoteAction` raises, `MessageProcessor._run_action` logs the
exception and drops the action's events, and the prediction loop goes on
until "Circuit breaker tripped": the turn ends without `action_listen`, so
every later turn trips the breaker at once and the person gets `[]` forever.

`ResilientActionEndpoint` replaces the agent's endpoint (bot/channels/turns.py
installs it) and handles every call at that depth:

* `action_session_start` and `action_escalate_crisis` run here, in the Rasa
  process (LOCAL_ACTIONS): the notice with the clinic's facts from
  configuration, and the crisis escalation (recorded by the NLG when the
  crisis reply was rendered; recorded here if that failed; never twice);
* every other call carries the shared secret (ACTION_SERVER_TOKEN in the
  ACTION_TOKEN_HEADER header) and is cut off after ACTION_TIMEOUT_SECONDS;
* when the action server is down, slow, refuses or fails, the action
  "returns" an honest reply (the clinic's phone and 988; a consultation
  request is told to call the clinic), ends any active form and makes the
  next action `action_listen`, so the turn ends cleanly and the next message
  works normally. A 400 (a form validation rejecting input) is passed on,
  as Rasa expects.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

from bot.answers.crisis import record_crisis_turn, turn_from_events
from bot.answers.unavailable import CONSULTATION, GENERAL, HANDOFF, unavailable_message
from bot.config import ACTION_TOKEN_HEADER, Settings, get_settings

logger = logging.getLogger(__name__)

SESSION_START = "action_session_start"
ESCALATE_CRISIS = "action_escalate_crisis"
CRISIS_SLOT = "crisis_flagged"
# What a failed action tells the person (unavailable.GENERAL for the rest).
FAILURE_KIND = {
    "consultation_form": CONSULTATION,
    "validate_consultation_form": CONSULTATION,
    "action_ask_lead_phone": CONSULTATION,
    "action_ask_lead_name": CONSULTATION,
    "action_ask_lead_email": CONSULTATION,
    "action_ask_lead_contact_time": CONSULTATION,
    "action_ask_lead_consent": CONSULTATION,
    "action_submit_lead": CONSULTATION,
    "action_after_lead": CONSULTATION,
    "action_request_handoff": HANDOFF,
}
# The consultation form's slots: a failed form step discards them ("nothing has been
# saved"). Returning them also keeps Rasa's FormAction from rejecting itself when
# its validation action failed (it would let other policies answer instead).
LEAD_SLOTS = ("lead_name", "lead_phone", "lead_email", "lead_contact_time", "lead_consent")
USER_EVENTS_QUOTED = 5

ActionResult = dict[str, Any]
LocalAction = Callable[[dict[str, Any], Settings], Awaitable[ActionResult]]


def _slot(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


async def session_start(call: dict[str, Any], settings: Settings) -> ActionResult:
    """Start a session with the clinic's facts and the "not medical advice" notice.

    A crisis flag is carried into the new session (staff still need to see it);
    other slots start afresh.
    """
    slots = (call.get("tracker") or {}).get("slots") or {}
    events = [
        {"event": "session_started"},
        _slot("clinic_name", settings.clinic.name),
        _slot("clinic_phone", settings.clinic.phone),
        _slot("crisis_line", settings.crisis.line_number),
        _slot("crisis_text_line", settings.crisis.text_line),
        _slot("emergency_number", settings.crisis.emergency_number),
    ]
    if slots.get(CRISIS_SLOT):
        events.append(_slot(CRISIS_SLOT, True))
    events.append({"event": "action", "name": "action_listen"})
    return {"events": events, "responses": [{"response": "utter_notice"}]}


def _escalation_already_sent(events: list[dict[str, Any]]) -> int | None:
    """The escalation id the crisis reply of this turn already carried, if any."""
    for event in reversed(events):
        if event.get("event") == "user":
            return None
        custom = (event.get("data") or {}).get("custom") if event.get("event") == "bot" else None
        if isinstance(custom, dict) and custom.get("escalation_id"):
            return int(custom["escalation_id"])
    return None


async def escalate_crisis(call: dict[str, Any], settings: Settings) -> ActionResult:
    """After the crisis reply: flag the conversation, and record the escalation if the
    NLG could not (its payload then carries the id)."""
    tracker = call.get("tracker") or {}
    events = tracker.get("events") or []
    result: ActionResult = {"events": [_slot(CRISIS_SLOT, True)], "responses": []}
    if _escalation_already_sent(events) is not None:
        return result
    user_events = [e for e in events if e.get("event") == "user"][-USER_EVENTS_QUOTED:]
    turn = turn_from_events(str(tracker.get("sender_id") or call.get("sender_id")), user_events)
    escalation_id = await record_crisis_turn(settings, turn)
    if escalation_id is not None:
        result["responses"] = [{"custom": {"type": "crisis", "escalation_id": escalation_id}}]
    return result


LOCAL_ACTIONS: dict[str, LocalAction] = {
    SESSION_START: session_start,
    ESCALATE_CRISIS: escalate_crisis,
}


def failure_result(action_name: str | None, settings: Settings) -> ActionResult:
    """What a failed custom action "returns": an honest reply, any form ended, then listen."""
    kind = FAILURE_KIND.get(action_name or "", GENERAL)
    events: list[dict[str, Any]] = [
        {"event": "active_loop", "name": None},
        _slot("requested_slot", None),
    ]
    if kind == CONSULTATION:
        events += [_slot(slot, None) for slot in LEAD_SLOTS]
        events.append(_slot("lead_phone_failures", 0.0))
    events.append({"event": "followup", "name": "action_listen"})
    return {"events": events, "responses": [unavailable_message(settings, kind)]}


class ResilientActionEndpoint(EndpointConfig):
    """The agent's action endpoint: local actions in-process, remote ones fail-safe."""

    def __init__(self, settings: Settings | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings or get_settings()
        token = self.settings.action_server_token
        if token and not self.headers.get(ACTION_TOKEN_HEADER):
            # e.g. an endpoints.yml generated by the Helm chart, without `headers:`
            self.headers = {**self.headers, ACTION_TOKEN_HEADER: token}

    @classmethod
    def wrap(
        cls, endpoint: EndpointConfig | None, settings: Settings | None = None
    ) -> ResilientActionEndpoint:
        if isinstance(endpoint, ResilientActionEndpoint):
            return endpoint
        if endpoint is None:
            return cls(settings)
        return cls(
            settings,
            url=endpoint.url,
            params=dict(endpoint.params),
            headers=dict(endpoint.headers),
            basic_auth=dict(endpoint.basic_auth),
            token=endpoint.token,
            token_name=endpoint.token_name,
            cafile=endpoint.cafile,
            **endpoint.kwargs,
        )

    def copy(self) -> ResilientActionEndpoint:
        return ResilientActionEndpoint.wrap(super().copy(), self.settings)

    async def request(
        self,
        method: str = "post",
        subpath: str | None = None,
        content_type: str | None = "application/json",
        compress: bool = False,
        **kwargs: Any,
    ) -> Any:
        call = kwargs.get("json")
        name = call.get("next_action") if isinstance(call, dict) else None
        local = LOCAL_ACTIONS.get(name or "")
        if local is not None:
            return await local(call, self.settings)
        if not self.url:
            logger.error("No action endpoint configured: custom action %s cannot run", name)
            return failure_result(name, self.settings)
        timeout = self.settings.action_timeout_seconds
        kwargs["timeout"] = aiohttp.ClientTimeout(total=timeout)
        try:
            return await super().request(method, subpath, content_type, compress, **kwargs)
        except ClientResponseError as exc:
            if exc.status == 400:  # the action rejected the input (forms): Rasa handles it
                raise
            reason = f"HTTP {exc.status}"
            if exc.status == 403:
                reason += " (ACTION_SERVER_TOKEN differs between Rasa and the action server?)"
        except asyncio.TimeoutError:
            reason = f"no answer within {timeout:g} s"
        except (aiohttp.ClientError, OSError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        logger.error(
            "Custom action %s failed (%s): the person gets an honest reply and the "
            "conversation continues",
            name,
            reason,
        )
        return failure_result(name, self.settings)
