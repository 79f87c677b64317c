"""Rasa lock store chosen from configuration (`lock_store` in endpoints.yml).

With REDIS_URL set, conversations are locked in Redis so any number of Rasa
server replicas can share one tracker store; without it (the `make run`
default, one process) Rasa's in-memory lock store is enough.

Rasa's `RedisLockStore` changes a conversation's ticket queue by GET, change,
SET. Two replicas that take a ticket at the same moment can both read the
same queue and both be given ticket 0: both then process the conversation at
once, and the tracker store keeps only one of the two turns (a clean-clone CI
run of tests/test_replicas_e2e.py lost a message this way). Here every change
to the queue is one Redis transaction (WATCH / MULTI, retried on conflict),
and the queue is deleted in the same transaction that empties it, so a ticket
issued meanwhile is never deleted with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlparse

from rasa.core.lock import TicketLock
from rasa.core.lock_store import (
    LOCK_LIFETIME,
    InMemoryLockStore,
    LockError,
    LockStore,
    RedisLockStore,
)

from bot.config import get_settings

T = TypeVar("T")


class ClinicLockStore(RedisLockStore):
    """Redis when REDIS_URL is configured, else in-memory."""

    def __new__(cls, *args: Any, **kwargs: Any) -> LockStore:  # type: ignore[misc]
        if not get_settings().redis_url:
            return InMemoryLockStore()
        return super().__new__(cls)

    def __init__(self, endpoint_config: Any = None, **kwargs: Any) -> None:
        url = urlparse(get_settings().redis_url)
        super().__init__(
            host=url.hostname or "localhost",
            port=url.port or 6379,
            db=int((url.path or "/0").lstrip("/") or 0),
            username=url.username,
            password=url.password,
            use_ssl=url.scheme == "rediss",
            key_prefix="clinic",
        )

    def _change(
        self, conversation_id: str, change: Callable[[TicketLock], T], create: bool = True
    ) -> T | None:
        """Apply `change` to the stored queue atomically; an emptied queue is deleted."""
        key = self.key_prefix + conversation_id
        result: T | None = None

        def transaction(pipe: Any) -> None:
            nonlocal result
            stored = pipe.get(key)
            if stored is None and not create:
                result = None
                return
            lock = (
                TicketLock.from_dict(json.loads(stored))
                if stored is not None
                else self.create_lock(conversation_id)
            )
            result = change(lock)
            pipe.multi()
            if lock.is_someone_waiting():
                pipe.set(key, lock.dumps())
            else:
                pipe.delete(key)

        self.red.transaction(transaction, key)
        return result

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            ticket = self._change(conversation_id, lambda lock: lock.issue_ticket(lock_lifetime))
        except Exception as error:  # noqa: BLE001 - Rasa's contract: a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error
        assert ticket is not None
        return ticket

    def update_lock(self, conversation_id: str) -> None:
        self._change(conversation_id, TicketLock.remove_expired_tickets, create=False)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self._change(
            conversation_id, lambda lock: lock.remove_ticket_for(ticket_number), create=False
        )

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # finish_serving deletes the queue it empties, in the same transaction
        self.finish_serving(conversation_id, ticket_number)
