"""The conversation lock on a real Redis, taken by several "replicas" at once.

Each thread below has its own `ClinicLockStore` (its own Redis connection), as
each Rasa replica has. Rasa's own `RedisLockStore` fails both tests: its
GET-change-SET lets two replicas draw the same ticket.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator

import pytest
import redis
from rasa.core.lock_store import InMemoryLockStore

from bot.config import get_settings
from bot.store.lock_store import ClinicLockStore

REDIS_DB = 6
THREADS = 6


@pytest.fixture
def redis_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    redis.Redis.from_url(url).flushdb()
    monkeypatch.setenv("REDIS_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def run_in_threads(work) -> None:
    errors: list[BaseException] = []

    def guarded(n: int) -> None:
        try:
            work(n)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_without_redis_the_lock_is_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "")
    get_settings.cache_clear()
    try:
        assert isinstance(ClinicLockStore(), InMemoryLockStore)
    finally:
        get_settings.cache_clear()


def test_tickets_drawn_at_once_by_several_replicas_are_all_distinct(redis_url: str) -> None:
    conversation = f"tickets-{uuid.uuid4().hex}"
    drawn: list[int] = []

    def draw(_: int) -> None:
        store = ClinicLockStore()
        drawn.extend(store.issue_ticket(conversation) for _ in range(60))

    run_in_threads(draw)
    assert len(drawn) == THREADS * 60
    assert sorted(drawn) == list(range(THREADS * 60))
    queue = ClinicLockStore().get_lock(conversation)
    assert queue is not None and len(queue.tickets) == THREADS * 60


def test_one_replica_at_a_time_holds_a_conversation(redis_url: str) -> None:
    conversation = f"held-{uuid.uuid4().hex}"
    holders = 0
    most_holders = 0
    turns = 0
    guard = threading.Lock()

    async def turns_of(store: ClinicLockStore) -> None:
        nonlocal holders, most_holders, turns
        for _ in range(25):
            async with store.lock(conversation, wait_time_in_seconds=0.001):
                with guard:
                    holders += 1
                    most_holders = max(most_holders, holders)
                await asyncio.sleep(0.002)
                with guard:
                    holders -= 1
                    turns += 1

    run_in_threads(lambda _: asyncio.run(turns_of(ClinicLockStore())))
    assert (most_holders, turns) == (1, THREADS * 25)
    # the last cleanup deleted the emptied queue
    assert ClinicLockStore().get_lock(conversation) is None
