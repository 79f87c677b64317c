"""bot/channels/action_schema.py: accepts and rejects what Rasa's own check does."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError, validate
from rasa.core.actions.action import RemoteAction

from bot.channels import action_schema

VALID = [
    {"events": [{"event": "session_started"}, {"event": "action", "name": "action_listen"}]},
    {"events": [{"event": "slot", "name": "lead_name", "value": "Ana"}], "responses": []},
    {"events": [], "responses": [{"text": "hi", "buttons": [{"title": "a", "payload": "/b"}]}]},
]
INVALID = [
    {"events": [], "responses": "not a list"},
    {"events": "not a list"},
    {"events": [{"event": "slot"}]},  # a slot event without a name
    {"events": [{"event": "no_such_event"}]},
]


@pytest.fixture
def remote() -> RemoteAction:
    return RemoteAction("action_session_start", None)


def rasa_check(result: dict) -> None:
    """What Rasa 3.6's `_validate_action_result` runs (and install() may have replaced)."""
    validate(result, RemoteAction.action_response_format_spec())


@pytest.mark.parametrize("result", VALID)
def test_valid_responses_pass_both_checks(remote: RemoteAction, result: dict) -> None:
    rasa_check(result)
    assert action_schema.validate_action_result(remote, result)


@pytest.mark.parametrize("result", INVALID)
def test_invalid_responses_fail_both_checks_the_same_way(
    remote: RemoteAction, result: dict
) -> None:
    with pytest.raises(ValidationError) as rasa_error:
        rasa_check(result)
    with pytest.raises(ValidationError) as ours:
        action_schema.validate_action_result(remote, result)
    assert ours.value.message.startswith(rasa_error.value.message)
    assert "Failed to validate Action server response" in ours.value.message


def test_install_puts_the_compiled_check_on_every_remote_action(
    remote: RemoteAction, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        RemoteAction, "_validate_action_result", RemoteAction._validate_action_result
    )
    action_schema.install()
    assert RemoteAction._validate_action_result is action_schema.validate_action_result
    with pytest.raises(ValidationError):
        remote._validate_action_result({"events": "x"})
