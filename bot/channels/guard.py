"""Checks every channel applies before a message reaches the bot.

A maximum length (an over-long message gets a clear reply, not an error
page) and a per-sender rate limit (a fixed window; shared by all Rasa
replicas through Redis when REDIS_URL is set, else per process). A crisis is
never blocked: a message with crisis language goes through whatever its
length or rate.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from enum import Enum

from bot.config import Settings
from bot.safety.patterns import detect_crisis


class Verdict(Enum):
    OK = "ok"
    EMPTY = "empty"
    TOO_LONG = "too_long"
    RATE_LIMITED = "rate_limited"


REPLIES = {
    Verdict.EMPTY: "It looks like your message was empty. What would you like to know?",
    Verdict.TOO_LONG: (
        "That message is longer than I can read ({limit} characters at most). "
        "Could you send a shorter question?"
    ),
    Verdict.RATE_LIMITED: (
        "You're sending messages very quickly. Please wait a moment and try again."
    ),
}


@dataclass
class MessageGuard:
    """Length and rate checks for one channel process."""

    settings: Settings

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
        self._redis = None
        if self.settings.redis_url:
            import redis

            self._redis = redis.Redis.from_url(self.settings.redis_url, socket_timeout=2)

    def reply_for(self, verdict: Verdict) -> str:
        return REPLIES[verdict].format(limit=self.settings.max_message_chars)

    def check(self, sender: str, text: str) -> Verdict:
        crisis = detect_crisis(text) is not None
        if crisis:
            return Verdict.OK
        if not text.strip():
            return Verdict.EMPTY
        if len(text) > self.settings.max_message_chars:
            return Verdict.TOO_LONG
        if self._count(sender) > self.settings.rate_limit_messages:
            return Verdict.RATE_LIMITED
        return Verdict.OK

    def _count(self, sender: str) -> int:
        """Messages from `sender` in the current window, this one included."""
        window = self.settings.rate_limit_window_seconds
        bucket = int(time.time() // window)
        if self._redis is not None:
            key = f"clinic:rate:{sender}:{bucket}"
            try:
                pipe = self._redis.pipeline()
                pipe.incr(key)
                pipe.expire(key, window * 2)
                return int(pipe.execute()[0])
            except Exception:  # Redis down: fall back to this process's count
                pass
        with self._lock:
            current_bucket, count = self._windows[sender]
            count = count + 1 if current_bucket == bucket else 1
            self._windows[sender] = (bucket, count)
            return count
