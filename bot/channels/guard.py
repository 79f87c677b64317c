"""Checks every channel applies before a message reaches the bot.

* **Length.** A message longer than MAX_MESSAGE_CHARS is cut to that length
  before NLU (the tracker, the NLU and staff alerts never see megabytes) and
  answered, with a note that only the beginning was read. Requests larger
  than MAX_REQUEST_BYTES get a 413.
* **Crisis first.** The reviewed pattern layer sees the *whole* text, however
  long: in windows of CRISIS_WINDOW_CHARS (overlapping, so no phrase is split
  unseen), each distinct window once (a pasted or repeated text costs a few
  windows), in a worker thread, so a long message never stalls other turns.
  When the crisis wording lies beyond the cut, the bot reads the window that
  contains it. A message with crisis language always goes through, whatever
  its length or rate.
* **Rate.** A per-sender limit (a fixed window; shared by all Rasa replicas
  through Redis when REDIS_URL is set, else per process): 429. Polls for
  staff messages (bot/channels/held.py) have their own count, POLLS_PER_MESSAGE
  times as many: a widget polls every 2 s while staff hold its conversation.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from enum import Enum

from bot.config import Settings
from bot.safety.patterns import detect_crisis

MAX_REQUEST_BYTES = 2 * 1024 * 1024
CRISIS_WINDOW_CHARS = 1000
CRISIS_WINDOW_OVERLAP = 200
POLLS_PER_MESSAGE = 4


class Verdict(Enum):
    OK = "ok"
    EMPTY = "empty"
    RATE_LIMITED = "rate_limited"


REPLIES = {
    Verdict.EMPTY: "It looks like your message was empty. What would you like to know?",
    Verdict.RATE_LIMITED: (
        "You're sending messages very quickly. Please wait a moment and try again."
    ),
}


@dataclass(frozen=True)
class Admission:
    """The guard's decision on one message, and the text the bot reads."""

    verdict: Verdict
    text: str
    crisis: bool = False  # the pattern layer found crisis language in the whole text
    cut: bool = False  # the text was longer than MAX_MESSAGE_CHARS


def crisis_window(text: str) -> str | None:
    """A window of `text` in which the pattern layer finds crisis language, or None.

    Every character is looked at; identical windows are checked once.
    """
    if len(text) <= CRISIS_WINDOW_CHARS:
        return text if detect_crisis(text) else None
    step = CRISIS_WINDOW_CHARS - CRISIS_WINDOW_OVERLAP
    seen: set[str] = set()
    for start in range(0, len(text), step):
        window = text[start : start + CRISIS_WINDOW_CHARS]
        if window not in seen:
            seen.add(window)
            if detect_crisis(window):
                return window
        if start + CRISIS_WINDOW_CHARS >= len(text):
            break
    return None


def read_for_crisis(text: str, limit: int) -> str | None:
    """The text the bot should read when `text` shows crisis language, else None."""
    if len(text) <= limit:
        return text if detect_crisis(text) else None
    window = crisis_window(text)
    if window is None:
        return None
    head = text[:limit]
    return head if detect_crisis(head) else window[:limit]


@dataclass
class MessageGuard:
    """Length, crisis and rate checks for one channel process."""

    settings: Settings

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
        self._redis = None
        if self.settings.redis_url:
            import redis

            self._redis = redis.Redis.from_url(self.settings.redis_url, socket_timeout=2)

    def reply_for(self, verdict: Verdict) -> str:
        return REPLIES[verdict]

    async def admit(self, sender: str, text: str) -> Admission:
        """Decide on one message (crisis first), and cut it to MAX_MESSAGE_CHARS."""
        limit = self.settings.max_message_chars
        if len(text) > limit:  # the whole text, off the event loop
            crisis_text = await asyncio.to_thread(read_for_crisis, text, limit)
        else:
            crisis_text = read_for_crisis(text, limit)
        if crisis_text is not None:
            return Admission(Verdict.OK, crisis_text, crisis=True, cut=len(text) > limit)
        if not text.strip():
            return Admission(Verdict.EMPTY, text)
        if self._count(f"rate:{sender}") > self.settings.rate_limit_messages:
            return Admission(Verdict.RATE_LIMITED, text)
        if len(text) > limit:
            return Admission(Verdict.OK, text[:limit], cut=True)
        return Admission(Verdict.OK, text)

    def poll_allowed(self, sender: str) -> bool:
        """Whether `sender` may poll for staff messages now (else 429)."""
        limit = POLLS_PER_MESSAGE * self.settings.rate_limit_messages
        return self._count(f"poll:{sender}") <= limit

    def _count(self, name: str) -> int:
        """Requests counted under `name` in the current window, this one included."""
        window = self.settings.rate_limit_window_seconds
        bucket = int(time.time() // window)
        if self._redis is not None:
            key = f"clinic:{name}:{bucket}"
            try:
                pipe = self._redis.pipeline()
                pipe.incr(key)
                pipe.expire(key, window * 2)
                return int(pipe.execute()[0])
            except Exception:  # Redis down: fall back to this process's count
                pass
        with self._lock:
            current_bucket, count = self._windows[name]
            count = count + 1 if current_bucket == bucket else 1
            self._windows[name] = (bucket, count)
            return count
