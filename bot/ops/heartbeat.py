"""Liveness of the outbox worker, which has no HTTP port to probe.

The worker touches a file after every completed delivery pass; `python -m bot
outbox health` exits 0 only while that file is recent. A worker that hangs,
crashes or cannot reach the database stops touching it, so a container
healthcheck (or Kubernetes exec probe) notices.
"""

from __future__ import annotations

import time
from pathlib import Path

from bot.config import Settings

MIN_MAX_AGE_SECONDS = 120.0


def max_age_seconds(settings: Settings) -> float:
    """How old the heartbeat may be: several poll intervals, at least two minutes.

    A pass can take a while when SMTP or Twilio time out, hence the generous floor.
    """
    return max(MIN_MAX_AGE_SECONDS, 10 * settings.outbox_poll_seconds)


def beat(settings: Settings) -> None:
    """Record that the worker completed a pass (never raises: delivery matters more)."""
    path = Path(settings.outbox_heartbeat_file)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{time.time():.3f}\n", encoding="utf-8")
    except OSError:
        pass


def age_seconds(settings: Settings, now: float | None = None) -> float | None:
    """Seconds since the last beat, or None when the worker never beat."""
    path = Path(settings.outbox_heartbeat_file)
    try:
        last = float(path.read_text(encoding="utf-8").strip() or path.stat().st_mtime)
    except (OSError, ValueError):
        return None
    return max(0.0, (time.time() if now is None else now) - last)


def check(settings: Settings, now: float | None = None) -> tuple[bool, str]:
    """(healthy, one-line explanation) for the health command."""
    age = age_seconds(settings, now)
    limit = max_age_seconds(settings)
    if age is None:
        return False, f"no heartbeat at {settings.outbox_heartbeat_file}"
    if age > limit:
        return False, f"last heartbeat {age:.0f}s ago (limit {limit:.0f}s)"
    return True, f"last heartbeat {age:.0f}s ago"
