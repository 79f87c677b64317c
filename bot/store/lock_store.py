"""Rasa lock store chosen from configuration (`lock_store` in endpoints.yml).

With REDIS_URL set, conversations are locked in Redis so any number of Rasa
server replicas can share one tracker store; without it (the `make run`
default, one process) Rasa's in-memory lock store is enough.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore

from bot.config import get_settings


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
