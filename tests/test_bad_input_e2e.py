"""Bad input on the REST channel: a clear reply or a clear 4xx, and nothing breaks."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.conftest import Stack, start_early_in_rate_window, texts

pytestmark = pytest.mark.e2e


def post_raw(stack: Stack, body: bytes) -> requests.Response:
    return requests.post(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=60,
    )


def sender() -> str:
    return f"bad-{uuid.uuid4().hex[:10]}"


def assert_clear_json_error(response: requests.Response, status: int) -> None:
    assert response.status_code == status
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"]
    assert "Traceback" not in response.text


def test_empty_message_gets_a_clear_reply(stack: Stack) -> None:
    assert "empty" in " ".join(texts(stack.say(sender(), "   ")))


def test_very_long_message_is_cut_answered_and_says_so(stack: Stack) -> None:
    messages = stack.say(sender(), "how much does an infusion cost? " * 400)
    assert len(texts(messages)) >= 2  # an answer to the first 2,000 characters, then the note
    assert "read only its first 2,000 characters" in texts(messages)[-1]


def test_a_body_over_the_request_limit_gets_413(stack: Stack) -> None:
    body = b'{"sender": "x", "message": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    assert_clear_json_error(post_raw(stack, body), 413)


def test_very_long_message_with_crisis_language_still_runs_the_protocol(stack: Stack) -> None:
    messages = stack.say(sender(), "blah " * 2000 + " honestly I want to kill myself")
    assert any("988" in t for t in texts(messages, include_notice=False))


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe\xfa not utf-8",
        b"{not json",
        b"[1, 2, 3]",
        b'{"message": "hi"}',
        b'{"sender": "", "message": "hi"}',
        b'{"sender": "x", "message": 42}',
    ],
)
def test_malformed_bodies_get_400(stack: Stack, body: bytes) -> None:
    assert_clear_json_error(post_raw(stack, body), 400)


@pytest.mark.parametrize(
    "message",
    [
        "😀😀😀🙏",
        "<script>alert('x')</script><img src=x onerror=alert(1)>",
        "'; DROP TABLE leads; -- SELECT * FROM events WHERE 1=1",
    ],
)
def test_odd_text_gets_a_sensible_reply(stack: Stack, message: str) -> None:
    messages = stack.say(sender(), message)
    assert texts(messages), messages
    assert all("<script>" not in t for t in texts(messages))


def test_sql_looking_text_changes_nothing(stack: Stack) -> None:
    stack.say(sender(), "'; DROP TABLE leads; --")
    engine = create_engine(stack.database_url, future=True)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM leads")).scalar() is not None
        assert connection.execute(text("SELECT count(*) FROM events")).scalar() > 0
    engine.dispose()


def test_a_burst_of_200_messages_is_rate_limited_and_nothing_is_lost(stack: Stack) -> None:
    flooder = sender()

    def one(n: int) -> int:
        response = requests.post(
            f"{stack.rasa_url}/webhooks/rest/webhook",
            json={"sender": flooder, "message": f"hello {n}"},
            timeout=120,
        )
        if response.status_code == 429:
            assert "quickly" in response.json()["error"]
        return response.status_code

    start_early_in_rate_window(stack)
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(one, range(200)))
    accepted = statuses.count(200)
    assert set(statuses) <= {200, 429}
    assert 1 <= accepted <= 31 and statuses.count(429) == 200 - accepted
    # the server is still up for everyone else
    assert texts(stack.say(sender(), "hello"))
    engine = create_engine(stack.database_url, future=True)
    with engine.connect() as connection:
        recorded = connection.execute(
            text("SELECT count(*) FROM events WHERE sender_id = :s AND type_name = 'user'"),
            {"s": flooder},
        ).scalar()
    engine.dispose()
    assert recorded == accepted  # every accepted message is in the tracker, once
