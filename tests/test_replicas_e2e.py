"""Production shape: two Rasa replicas and one action server on PostgreSQL + Redis.

Conversations run concurrently; each sends its messages one after another,
alternating between the two replicas, and finally sends two messages at the
same moment, one to each replica. Every conversation's tracker must hold
every user message exactly once, in the order sent, with no lock errors.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.conftest import (
    API_TOKEN,
    ROOT,
    free_port,
    postgres_database,
    stack_env,
    start_actions,
    start_rasa,
    wait_for,
)

pytestmark = pytest.mark.e2e

CONVERSATIONS = 12
SEQUENTIAL_MESSAGES = 6
QUESTIONS = [
    "what are the side effects of ketamine",
    "how much does an infusion cost",
    "is ketamine addictive",
    "how fast does it work",
    "hello",
    "thanks",
]


@pytest.fixture(scope="module")
def replicas(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("replicas")
    redis_db = 5
    with postgres_database() as database_url:
        action_port = free_port()
        env = stack_env(
            tmp,
            "http://127.0.0.1:9/unused",
            DATABASE_URL=database_url,
            REDIS_URL=f"redis://127.0.0.1:6379/{redis_db}",
            ACTION_ENDPOINT_URL=f"http://127.0.0.1:{action_port}/webhook",
            RATE_LIMIT_MESSAGES="1000",
        )
        subprocess.run(["redis-cli", "-n", str(redis_db), "FLUSHDB"], check=False)
        for command in (["db", "upgrade"], ["content", "load"]):
            subprocess.run([sys.executable, "-m", "bot", *command], cwd=ROOT, env=env, check=True)
        actions = start_actions(action_port, env, tmp / "actions.log")
        ports = [free_port(), free_port()]
        servers = [
            start_rasa(model_path, port, env, tmp / f"rasa-{n}.log") for n, port in enumerate(ports)
        ]
        try:
            wait_for(f"http://127.0.0.1:{action_port}/health", process=actions)
            for port, server in zip(ports, servers, strict=True):
                wait_for(f"http://127.0.0.1:{port}/", process=server)
            yield {
                "urls": [f"http://127.0.0.1:{port}" for port in ports],
                "database_url": database_url,
                "logs": [tmp / "rasa-0.log", tmp / "rasa-1.log"],
                "env": env,
                "tmp": tmp,
            }
        finally:
            for process in [*servers, actions]:
                process.terminate()
            for process in [*servers, actions]:
                process.wait(timeout=30)


def send(url: str, sender: str, message: str) -> list[dict]:
    response = requests.post(
        f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": message}, timeout=120
    )
    response.raise_for_status()
    return response.json()


def test_interleaved_conversations_on_two_replicas(replicas: dict) -> None:
    urls = replicas["urls"]
    senders = [f"replica-{uuid.uuid4().hex[:8]}-{n}" for n in range(CONVERSATIONS)]
    sent: dict[str, list[str]] = {sender: [] for sender in senders}
    failures: list[str] = []

    def conversation(index: int, sender: str) -> None:
        try:
            for k in range(SEQUENTIAL_MESSAGES):
                message = f"{QUESTIONS[k % len(QUESTIONS)]} ({index}.{k})"
                sent[sender].append(message)
                replies = send(urls[(index + k) % 2], sender, message)
                if not replies:
                    failures.append(f"{sender}: no reply to {message!r}")
            # the same conversation on both replicas at the same moment
            pair = [f"hello again ({index}.a)", f"thanks again ({index}.b)"]
            threads = [
                threading.Thread(target=send, args=(urls[n], sender, pair[n])) for n in range(2)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            sent[sender] += pair
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(f"{sender}: {exc!r}")

    threads = [
        threading.Thread(target=conversation, args=(index, sender))
        for index, sender in enumerate(senders)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []

    engine = create_engine(replicas["database_url"], future=True)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT sender_id, data FROM events WHERE type_name = 'user' "
                "AND sender_id LIKE 'replica-%' ORDER BY id"
            )
        ).all()
    engine.dispose()

    recorded: dict[str, list[str]] = {sender: [] for sender in senders}
    for sender_id, data in rows:
        recorded.setdefault(sender_id, []).append(json.loads(data)["text"])

    lost = duplicated = out_of_order = 0
    for sender in senders:
        counts = Counter(recorded[sender])
        lost += sum(1 for message in sent[sender] if counts[message] == 0)
        duplicated += sum(count - 1 for count in counts.values() if count > 1)
        sequential = sent[sender][:SEQUENTIAL_MESSAGES]
        if recorded[sender][:SEQUENTIAL_MESSAGES] != sequential:
            out_of_order += 1
        assert sorted(recorded[sender][SEQUENTIAL_MESSAGES:]) == sorted(sent[sender][-2:])
    lock_errors = sum(
        log.read_text().count("LockError") + log.read_text().count("Could not acquire lock")
        for log in replicas["logs"]
    )
    total = sum(len(v) for v in sent.values())
    print(
        f"\nreplicas: {CONVERSATIONS} conversations, {total} messages, lost {lost}, "
        f"duplicated {duplicated}, out of order {out_of_order}, lock errors {lock_errors}"
    )
    assert (lost, duplicated, out_of_order, lock_errors) == (0, 0, 0, 0)


def test_answers_are_served_and_audited_on_postgresql(replicas: dict) -> None:
    sender = f"replica-{uuid.uuid4().hex[:8]}-audit"
    replies = send(replicas["urls"][1], sender, "is ketamine addictive")
    faq = [m["custom"] for m in replies if isinstance(m.get("custom"), dict)]
    assert faq and faq[0]["type"] == "faq"
    engine = create_engine(replicas["database_url"], future=True)
    with engine.connect() as connection:
        served = (
            connection.execute(
                text("SELECT content_id FROM answers_served WHERE conversation_id = :s"),
                {"s": sender},
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert served == [faq[0]["content_id"]]


def test_a_takeover_holds_on_every_replica_and_after_a_restart(
    replicas: dict, model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staff take over through replica 0; replica 1 and a freshly started server stay
    silent (a receipt), still answer a crisis at once, and answer again after hand-back."""
    from bot.config import load_settings
    from bot.staff.takeover import StaffMember, hand_back, take_over

    first, second = replicas["urls"]
    monkeypatch.setenv("DATABASE_URL", replicas["database_url"])
    monkeypatch.setenv("RASA_URL", first)
    monkeypatch.setenv("RASA_API_TOKEN", API_TOKEN)
    settings = load_settings()
    staff = StaffMember("sam@clinic.test", "Sam")
    sender = f"replica-{uuid.uuid4().hex[:8]}-held"

    def kinds(replies: list[dict]) -> list[str]:
        return [m["custom"]["type"] for m in replies if isinstance(m.get("custom"), dict)]

    send(second, sender, "hello")
    take_over(settings, sender, staff)
    assert kinds(send(second, sender, "how much does an infusion cost")) == ["with_staff"]
    assert "crisis" in kinds(send(second, sender, "i am going to end my life tonight"))

    port = free_port()
    restarted = start_rasa(model_path, port, replicas["env"], replicas["tmp"] / "rasa-new.log")
    try:
        wait_for(f"http://127.0.0.1:{port}/", process=restarted)
        fresh = f"http://127.0.0.1:{port}"
        assert kinds(send(fresh, sender, "is ketamine addictive")) == ["with_staff"]
        hand_back(settings, sender, staff)
        assert "faq" in kinds(send(fresh, sender, "is ketamine addictive"))
    finally:
        restarted.terminate()
        restarted.wait(timeout=30)
