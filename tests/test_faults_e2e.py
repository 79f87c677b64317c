"""Fault injection: processes started separately and stopped, hung or killed one at a time.

Issue 17's cases against real servers (tests/conftest.py `separate_stack`:
Rasa, action server and outbox worker on their own, custom actions timing
out after 3 s; and `python -m bot run` for supervision). Every user message
in this file goes through `say`/`Stack.say`, which fail on an HTTP 200
without a reply: a person is never answered with nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from bot.config import ACTION_TOKEN_HEADER
from bot.staff.escalation import ALERT_BODY_MAX_CHARS
from bot.store.db import session_scope
from bot.store.models import Alert, AnswerServed, Escalation, Handoff, Lead, SmsInbound
from tests.conftest import (
    ROOT,
    SeparateStack,
    custom_payloads,
    free_port,
    reply_to,
    stack_env,
    texts,
    wait_for,
)
from tests.fakes import FakeWebhook
from tests.test_sms_channel import form, hashed, new_number, post, text, tracker_texts

pytestmark = pytest.mark.e2e

CLINIC_PHONE = "(555) 010-0199"  # tests/conftest.py stack_env
WEB_LIMITS_END = "decided by a clinician at a consultation."


def new_sender(prefix: str = "fault") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def wait_until(condition, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    return condition()


def joined(messages: list[dict]) -> str:
    return " ".join(texts(messages))


def assert_honest(messages: list[dict]) -> None:
    """The "something failed" reply: says so, the clinic's phone and 988."""
    said = joined(messages)
    assert CLINIC_PHONE in said and "988" in said and "technical problem" in said, messages
    assert custom_payloads(messages, "fallback"), messages


def assert_crisis_first(messages: list[dict]) -> None:
    first = texts(messages, include_notice=False)[0]
    assert "988" in first and "911" in first and "741741" in first, messages
    assert custom_payloads(messages, "crisis"), messages


def escalations_of(stack: SeparateStack, conversation_id: str) -> list[Escalation]:
    with session_scope(stack.database_url) as session:
        return list(
            session.scalars(
                select(Escalation).where(Escalation.conversation_id == conversation_id)
            ).all()
        )


def alerts_for(stack: SeparateStack, escalation_id: int) -> list[Alert]:
    with session_scope(stack.database_url) as session:
        return list(
            session.scalars(
                select(Alert).where(Alert.kind == "crisis", Alert.ref_id == escalation_id)
            ).all()
        )


def webhook_alerts(stack: SeparateStack, needle: str) -> list[dict]:
    return [a for a in stack.webhook.received if needle in a.get("text", "")]


# --- the action server down, slow or killed ------------------------------------------


def test_a_conversation_started_while_the_action_server_is_down(
    separate_stack: SeparateStack,
) -> None:
    stack = separate_stack
    sender = new_sender("down")
    stack.stop("actions")
    try:
        first = stack.say(sender, "hello")
        assert "not medical advice" in joined(first)  # session start runs in the Rasa server
        assert "Test Valley Ketamine Clinic" in joined(first)
        assert custom_payloads(stack.say(sender, "what are the side effects of ketamine"), "faq")
        crisis = stack.say(sender, "i want to kill myself")
        assert_crisis_first(crisis)
        [escalation_id] = [
            c["escalation_id"] for c in custom_payloads(crisis, "crisis") if "escalation_id" in c
        ]
        # recorded by the Rasa process: the action server is down
        [escalation] = escalations_of(stack, sender)
        assert (escalation.id, escalation.channel) == (escalation_id, "rest")
        assert escalation.message_text == "i want to kill myself"
        assert alerts_for(stack, escalation_id), "no staff alert queued"
        assert wait_until(lambda: webhook_alerts(stack, sender)), "staff were not alerted"
        # the conversation stays flagged without the action server
        assert "988" in joined(stack.say(sender, "nvm im fine"))
        assert_honest(stack.say(sender, "can I talk to a real person"))
        assert "Hi!" in joined(stack.say(sender, "hello"))
    finally:
        stack.start("actions")
    # the same conversation works normally once the action server is back
    assert "name" in joined(stack.say(sender, "I'd like to book a consultation"))
    assert "cancelled" in joined(stack.say(sender, "cancel"))
    assert custom_payloads(stack.say(sender, "can I talk to a real person"), "handoff")
    assert len(escalations_of(stack, sender)) == 1


def test_a_consultation_request_while_the_action_server_is_down_says_to_call(
    separate_stack: SeparateStack,
) -> None:
    stack = separate_stack
    sender = new_sender("lead-down")
    stack.stop("actions")
    try:
        reply = stack.say(sender, "I'd like to book a consultation")
        assert_honest(reply)
        assert "Please call Test Valley Ketamine Clinic" in joined(reply)
        assert "consultation" in joined(reply)
        # the next message is answered normally
        assert custom_payloads(stack.say(sender, "how much does an infusion cost"), "faq")
        assert_honest(stack.say(sender, "please have someone contact me"))
    finally:
        stack.start("actions")
    assert "name" in joined(stack.say(sender, "I'd like to book a consultation"))
    with session_scope(stack.database_url) as session:
        assert not session.scalars(select(Lead).where(Lead.conversation_id == sender)).all()


def test_an_action_server_that_hangs_or_crashes_mid_form(separate_stack: SeparateStack) -> None:
    stack = separate_stack
    sender = new_sender("hang")
    assert "name" in joined(stack.say(sender, "I'd like to book a consultation"))
    assert "phone" in joined(stack.say(sender, "Jamie Fault"))
    stack.send("actions", signal.SIGSTOP)  # accepts connections, never answers
    try:
        started = time.monotonic()
        reply = stack.say(sender, "415 867 5301")
        assert time.monotonic() - started < 20
        assert_honest(reply)
        assert custom_payloads(stack.say(sender, "what are the side effects of ketamine"), "faq")
    finally:
        stack.send("actions", signal.SIGCONT)
    # a crash in the middle of the form: the same honest reply, nothing stuck
    assert "name" in joined(stack.say(sender, "I'd like to book a consultation"))
    stack.stop("actions", signal.SIGKILL)
    try:
        assert_honest(stack.say(sender, "Jamie Fault"))
    finally:
        stack.start("actions")
    # and after the restart a request goes all the way through
    stack.say(sender, "I'd like to book a consultation")
    stack.say(sender, "Jamie Fault")
    stack.say(sender, "415 867 5301")
    stack.say(sender, "skip")
    stack.say(sender, "any time")
    done = stack.say(sender, "yes")
    assert custom_payloads(done, "lead"), done


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on `port` (from /proc/net/tcp*)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:
                found.add(address)
    return found


def test_forged_requests_to_the_action_server_are_refused(separate_stack: SeparateStack) -> None:
    stack = separate_stack
    victim = new_sender("forged")
    tracker = {
        "sender_id": victim,
        "slots": {
            "lead_name": "Mallory",
            "lead_phone": "+14158675300",
            "lead_email": "skipped",
            "lead_contact_time": "now",
            "lead_consent": True,
        },
        "latest_message": {"text": "I want to die", "intent": {"name": "request_human"}},
        "events": [],
        "latest_input_channel": "rest",
        "active_loop": {},
    }
    with session_scope(stack.database_url) as session:
        alerts_before = session.scalar(select(func.count()).select_from(Alert))
    for headers in ({}, {ACTION_TOKEN_HEADER: "not-the-token"}, {ACTION_TOKEN_HEADER: ""}):
        for action in ("action_submit_lead", "action_request_handoff", "action_handle_fallback"):
            response = requests.post(
                f"{stack.action_url}/webhook",
                json={"next_action": action, "sender_id": victim, "tracker": tracker},
                headers=headers,
                timeout=10,
            )
            assert response.status_code == 403, (action, headers, response.text)
        assert (
            requests.get(f"{stack.action_url}/actions", headers=headers, timeout=10).status_code
            == 403
        )
    assert requests.get(f"{stack.action_url}/health", timeout=10).status_code == 200
    with session_scope(stack.database_url) as session:
        for model in (Lead, Handoff, Escalation):
            assert not session.scalars(select(model).where(model.conversation_id == victim)).all()
        assert session.scalar(select(func.count()).select_from(Alert)) == alerts_before
    # the action server listens on the loopback interface only (ACTION_HOST)
    assert listening_addresses(stack.action_port) == {"0100007F"}
    # ... and Rasa, which sends the secret, is served
    assert "name" in joined(stack.say(new_sender(), "I'd like to book a consultation"))


# --- the outbox worker down -------------------------------------------------------


def test_crisis_alert_waits_while_the_outbox_worker_is_down(separate_stack: SeparateStack) -> None:
    stack = separate_stack
    sender = new_sender("outbox-down")
    stack.stop("outbox", signal.SIGKILL)
    try:
        assert_crisis_first(stack.say(sender, "i took all my pills"))
        [escalation] = escalations_of(stack, sender)
        assert [a.status for a in alerts_for(stack, escalation.id)] == ["pending"]
        time.sleep(1)
        assert not webhook_alerts(stack, sender)
    finally:
        stack.start("outbox")
    assert wait_until(lambda: webhook_alerts(stack, sender)), "alert not delivered after restart"


# --- crisis floods and size -------------------------------------------------------


def test_a_crisis_flood_makes_one_escalation_and_bounded_alerts(
    separate_stack: SeparateStack,
) -> None:
    stack = separate_stack
    sender = new_sender("flood")
    for n in range(35):
        assert_crisis_first(stack.say(sender, f"i want to kill myself {n}"))
    [escalation] = escalations_of(stack, sender)
    assert escalation.message_count == 35
    alerts = alerts_for(stack, escalation.id)
    # one destination (the webhook): the first alert, at most one update within minutes
    assert 1 <= len(alerts) <= 2, [a.subject for a in alerts]
    time.sleep(3)
    assert 1 <= len(webhook_alerts(stack, sender)) <= 2


def test_a_one_megabyte_crisis_message_is_answered_and_its_alert_capped(
    separate_stack: SeparateStack,
) -> None:
    stack = separate_stack
    sender, bystander = new_sender("huge"), new_sender("bystander")
    message = "I want to end my life. " + "I am so tired of all of it. " * 36_000
    assert len(message) > 1_000_000
    bystander_seconds: list[float] = []

    def other_sender() -> None:
        time.sleep(0.3)
        started = time.monotonic()
        stack.say(bystander, "hello")
        bystander_seconds.append(time.monotonic() - started)

    thread = threading.Thread(target=other_sender)
    thread.start()
    started = time.monotonic()
    reply = stack.say(sender, message)
    elapsed = time.monotonic() - started
    thread.join()
    assert_crisis_first(reply)
    assert elapsed < 20, elapsed
    assert bystander_seconds and bystander_seconds[0] < 10, bystander_seconds
    [escalation] = escalations_of(stack, sender)
    assert len(escalation.message_text) <= 2000
    [alert] = alerts_for(stack, escalation.id)
    assert len(alert.body) <= ALERT_BODY_MAX_CHARS and alert.body.endswith("…")
    delivered = wait_until(lambda: webhook_alerts(stack, sender))
    assert delivered and len(delivered[0]["text"]) < 2 * ALERT_BODY_MAX_CHARS

    # crisis wording far beyond the cut is still seen (the whole text is checked)
    late = new_sender("huge-late")
    tail_reply = stack.say(late, "I am so tired of all of it. " * 36_000 + "i want to kill myself")
    assert_crisis_first(tail_reply)
    assert escalations_of(stack, late)


def test_a_long_ordinary_message_is_cut_and_answered(separate_stack: SeparateStack) -> None:
    reply = separate_stack.say(new_sender("long"), "what are the side effects? " * 400)
    # Answered (whatever the NLU makes of 2,000 repeated characters), with the note.
    assert any(custom_payloads(reply, kind) for kind in ("faq", "fallback", "refusal")), reply
    assert "read only its first 2,000 characters" in texts(reply)[-1]


# --- SMS --------------------------------------------------------------------------


def test_an_sms_replay_gets_one_reply(separate_stack: SeparateStack) -> None:
    stack = separate_stack
    assert stack.twilio is not None
    number = new_number()
    params = form(number, "what are the side effects of ketamine")
    first = post(stack, params)
    assert first.status_code == 200 and "<Response/>" in first.text
    replies = wait_until(lambda: stack.twilio.to(number), timeout=60)
    assert replies
    time.sleep(2)  # the whole reply is out
    count = len(stack.twilio.to(number))
    for _ in range(2):  # Twilio retrying, or someone replaying a captured request
        again = post(stack, params)
        assert again.status_code == 200 and "<Response/>" in again.text
    time.sleep(3)
    assert len(stack.twilio.to(number)) == count
    assert tracker_texts(stack, number).count("what are the side effects of ketamine") == 1
    with session_scope(stack.database_url) as session:
        assert session.get(SmsInbound, params["MessageSid"]) is not None


def test_a_crisis_from_an_opted_out_number_reaches_staff_and_nothing_is_sent(
    separate_stack: SeparateStack,
) -> None:
    stack = separate_stack
    assert stack.twilio is not None
    number = new_number()
    [confirmation] = text(stack, number, "STOP")
    assert "unsubscribed" in confirmation
    sent = len(stack.twilio.to(number))
    response = post(stack, form(number, "i want to kill myself"))
    assert response.status_code == 200 and "<Response/>" in response.text
    escalations = wait_until(lambda: escalations_of(stack, hashed(number)))
    assert escalations, "no escalation for an opted-out number"
    [escalation] = escalations
    assert (escalation.channel, escalation.contact) == ("twilio_sms", number)
    assert alerts_for(stack, escalation.id)
    [alert] = wait_until(lambda: webhook_alerts(stack, hashed(number)))
    assert "opted out" in alert["text"] and number in alert["text"]
    time.sleep(2)
    assert len(stack.twilio.to(number)) == sent, "something was texted to an opted-out number"
    # HELP is still answered while opted out
    [help_reply] = text(stack, number, "HELP")
    assert CLINIC_PHONE in help_reply and "STOP" in help_reply


# --- REST trusts nothing from the client --------------------------------------------


def test_rest_ignores_client_input_channel_and_metadata(separate_stack: SeparateStack) -> None:
    stack = separate_stack
    sender = new_sender("spoof")
    reply = stack.say(
        sender,
        "what are the side effects of ketamine",
        input_channel="twilio_sms",
        metadata={"spoofed": "yes", "phone": "+14158675300"},
    )
    assert custom_payloads(reply, "faq")
    assert any(t.endswith(WEB_LIMITS_END) for t in texts(reply))  # the web answer, not SMS
    with session_scope(stack.database_url) as session:
        channels = session.scalars(
            select(AnswerServed.channel).where(AnswerServed.conversation_id == sender)
        ).all()
    assert channels == ["rest"]
    tracker = requests.get(
        f"{stack.rasa_url}/conversations/{sender}/tracker",
        params={"token": "test-api-token"},
        timeout=30,
    ).json()
    users = [e for e in tracker["events"] if e["event"] == "user"]
    assert [e["input_channel"] for e in users] == ["rest"]
    assert "spoofed" not in str(users) and "+14158675300" not in str(tracker)


# --- supervision: python -m bot run -----------------------------------------------


def children_of(pid: int) -> dict[int, str]:
    """pid -> command line of the direct children of `pid`."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def action_server_pid(runner: int) -> int | None:
    return next((p for p, cmd in children_of(runner).items() if "actions serve" in cmd), None)


def test_sigterm_to_the_action_server_under_bot_run(model_path: Path, tmp_path: Path) -> None:
    webhook = FakeWebhook()
    webhook.start()
    rasa_port, action_port, console_port = free_port(), free_port(), free_port()
    env = stack_env(
        tmp_path,
        webhook.url,
        RASA_PORT=str(rasa_port),
        ACTION_PORT=str(action_port),
        CONSOLE_PORT=str(console_port),
        ACTION_ENDPOINT_URL=f"http://127.0.0.1:{action_port}/webhook",
    )
    env.pop("ACTION_SERVER_TOKEN")  # development: the runner makes one per start
    env.pop("RASA_API_TOKEN", None)
    for command in (["db", "upgrade"], ["content", "load"]):
        subprocess.run([sys.executable, "-m", "bot", *command], cwd=ROOT, env=env, check=True)
    log = tmp_path / "run.log"
    runner = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    rasa_url = f"http://127.0.0.1:{rasa_port}"
    try:
        wait_for(f"http://127.0.0.1:{action_port}/health", process=runner)
        wait_for(f"{rasa_url}/", process=runner)
        before = children_of(runner.pid)
        assert len(before) == 4, before
        victim = action_server_pid(runner.pid)
        assert victim is not None
        os.kill(victim, signal.SIGTERM)
        restarted = wait_until(
            lambda: (action_server_pid(runner.pid) or victim) != victim, timeout=30
        )
        assert restarted, log.read_text()
        wait_for(f"http://127.0.0.1:{action_port}/health", timeout=60, process=runner)
        output = log.read_text()
        # Sanic stops cleanly on SIGTERM (exit code 0): a stop is a stop, whatever its cause
        assert f"action server (pid {victim}) exited with exit code 0" in output, output
        assert "Restarting action server" in output
        # a crash: SIGKILL to the outbox worker is named as such, and it is restarted too
        worker = next(p for p, cmd in children_of(runner.pid).items() if "outbox work" in cmd)
        os.kill(worker, signal.SIGKILL)
        assert wait_until(
            lambda: f"outbox worker (pid {worker}) exited with signal SIGKILL" in log.read_text()
        ), log.read_text()
        assert wait_until(
            lambda: any(
                "outbox work" in c for p, c in children_of(runner.pid).items() if p != worker
            )
        )
        # the other processes kept running
        after = children_of(runner.pid)
        assert {p for p in before if p not in (victim, worker)} <= set(after), (before, after)
        assert runner.poll() is None
        # and the new action server has the same per-start secret as Rasa
        response = requests.post(
            f"{rasa_url}/webhooks/rest/webhook",
            json={"sender": new_sender("runner"), "message": "I'd like to book a consultation"},
            timeout=60,
        )
        assert "name" in joined(reply_to(response, "I'd like to book a consultation"))
    finally:
        children = set(children_of(runner.pid))
        runner.send_signal(signal.SIGTERM)  # only a signal to the runner stops everything
        try:
            assert runner.wait(timeout=60) == 0
        finally:
            if runner.poll() is None:
                runner.kill()
            webhook.stop()
    assert wait_until(lambda: not any(Path(f"/proc/{p}").exists() for p in children), 30)
