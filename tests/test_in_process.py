"""bot/channels/in_process.py and turns.py: custom actions that fail end the turn honestly.

The action endpoint Rasa's RemoteAction and forms call: local actions run
in-process, remote ones carry the secret, time out, and on failure "return"
an honest reply that ends any form and listens (tests/test_faults_e2e.py
drives the same against real servers).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, ActiveLoop, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import ClientResponseError, EndpointConfig
from sqlalchemy import select

from bot.channels.in_process import (
    ResilientActionEndpoint,
    escalate_crisis,
    failure_result,
    session_start,
)
from bot.channels.turns import end_runaway_turn, has_text
from bot.config import ACTION_TOKEN_HEADER, get_settings
from bot.store.models import Alert, Escalation
from tests.conftest import free_port


class ActionServerFake:
    """An action server that answers every call with `status` after `delay` seconds."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        self.headers: list[dict[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fake.headers.append(dict(self.headers))
                time.sleep(delay)
                body = (
                    {"events": [], "responses": []}
                    if status == 200
                    else {"action_name": "validate_consultation_form", "error": "rejected"}
                )
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator:  # type: ignore[type-arg]
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "unit-test-token-0123456789")
    get_settings.cache_clear()
    yield replace(get_settings(), action_timeout_seconds=0.5)
    get_settings.cache_clear()


def call(endpoint: ResilientActionEndpoint, action: str, tracker: dict | None = None):  # type: ignore[no-untyped-def]
    body = {"next_action": action, "sender_id": "s", "tracker": tracker or {}}
    return asyncio.run(endpoint.request(json=body, method="post", timeout=300))


def assert_honest_and_listening(result: dict) -> None:
    [reply] = result["responses"]
    text = reply["text"]
    settings = get_settings()
    assert settings.clinic.phone in text and settings.crisis.line_number in text
    assert reply["custom"] == {"type": "fallback"}
    events = result["events"]
    assert {"event": "active_loop", "name": None} in events
    assert events[-1] == {"event": "followup", "name": ACTION_LISTEN_NAME}


def test_an_unreachable_action_server_gives_an_honest_reply(settings) -> None:  # type: ignore[no-untyped-def]
    endpoint = ResilientActionEndpoint(settings, url=f"http://127.0.0.1:{free_port()}/webhook")
    result = call(endpoint, "action_request_handoff")
    assert_honest_and_listening(result)
    assert "talk to a person" in result["responses"][0]["text"]


def test_a_failed_form_step_says_to_call_and_discards_the_details(settings) -> None:  # type: ignore[no-untyped-def]
    endpoint = ResilientActionEndpoint(settings, url=f"http://127.0.0.1:{free_port()}/webhook")
    result = call(endpoint, "validate_consultation_form")
    assert_honest_and_listening(result)
    assert "ask for a consultation" in result["responses"][0]["text"]
    assert {"event": "slot", "name": "lead_name", "value": None} in result["events"]


@pytest.mark.parametrize("status", [403, 404, 500])
def test_error_statuses_give_an_honest_reply_with_the_secret_sent(settings, status: int) -> None:  # type: ignore[no-untyped-def]
    fake = ActionServerFake(status=status)
    try:
        result = call(ResilientActionEndpoint.wrap(EndpointConfig(fake.url), settings), "x")
    finally:
        fake.stop()
    assert_honest_and_listening(result)
    assert fake.headers[0][ACTION_TOKEN_HEADER] == "unit-test-token-0123456789"


def test_a_rejection_is_passed_on_to_rasa(settings) -> None:  # type: ignore[no-untyped-def]
    fake = ActionServerFake(status=400)
    try:
        with pytest.raises(ClientResponseError) as raised:
            call(ResilientActionEndpoint(settings, url=fake.url), "validate_consultation_form")
    finally:
        fake.stop()
    assert raised.value.status == 400


def test_a_hung_action_server_times_out(settings) -> None:  # type: ignore[no-untyped-def]
    fake = ActionServerFake(delay=5)
    try:
        started = time.monotonic()
        result = call(ResilientActionEndpoint(settings, url=fake.url), "action_submit_lead")
        assert time.monotonic() - started < 3
    finally:
        fake.stop()
    assert_honest_and_listening(result)


def test_session_start_runs_in_process_with_the_clinic_facts(settings) -> None:  # type: ignore[no-untyped-def]
    endpoint = ResilientActionEndpoint(settings, url=None)  # no action server at all
    result = call(endpoint, "action_session_start", {"slots": {"crisis_flagged": True}})
    events = result["events"]
    assert events[0] == {"event": "session_started"}
    assert {"event": "slot", "name": "clinic_phone", "value": settings.clinic.phone} in events
    assert {"event": "slot", "name": "crisis_flagged", "value": True} in events
    assert events[-1] == {"event": "action", "name": ACTION_LISTEN_NAME}
    assert result["responses"] == [{"response": "utter_notice"}]
    assert session_start.__name__ == "session_start"


def test_the_crisis_action_never_records_twice(database, settings_with_webhook) -> None:  # type: ignore[no-untyped-def]
    user = {
        "event": "user",
        "text": "i want to die",
        "message_id": "m1",
        "input_channel": "rest",
        "parse_data": {"intent": {"name": "crisis"}, "crisis": {"detected_by": "pattern:x"}},
    }
    sent = {"event": "bot", "data": {"custom": {"type": "crisis", "escalation_id": 7}}}
    already = asyncio.run(
        escalate_crisis(
            {"tracker": {"sender_id": "c", "events": [user, sent]}}, settings_with_webhook
        )
    )
    assert already == {
        "events": [{"event": "slot", "name": "crisis_flagged", "value": True}],
        "responses": [],
    }
    with database() as session:
        assert session.scalars(select(Escalation)).all() == []
    # the NLG could not record it: the action does, once, whatever the retries
    for _ in range(2):
        result = asyncio.run(
            escalate_crisis(
                {"tracker": {"sender_id": "c", "events": [user]}}, settings_with_webhook
            )
        )
        [payload] = result["responses"]
        assert payload["custom"]["type"] == "crisis" and payload["custom"]["escalation_id"]
    with database() as session:
        [escalation] = session.scalars(select(Escalation)).all()
        assert escalation.message_text == "i want to die" and escalation.detected_by == "pattern:x"
        assert len(session.scalars(select(Alert)).all()) == 1


def test_failure_result_for_any_action() -> None:
    result = failure_result(None, get_settings())
    assert_honest_and_listening(result)
    assert has_text([{"text": result["responses"][0]["text"]}]) and not has_text([{"custom": {}}])


def test_a_runaway_turn_ends_with_listen() -> None:
    tracker = DialogueStateTracker.from_events(
        "s",
        [ActionExecuted(ACTION_LISTEN_NAME), UserUttered("hi"), ActiveLoop("consultation_form")],
    )
    end_runaway_turn(tracker, None, None)
    assert tracker.latest_action_name == ACTION_LISTEN_NAME and not tracker.active_loop_name
