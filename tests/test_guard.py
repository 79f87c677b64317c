"""bot/channels/guard.py: long messages are cut but read whole for crisis language, cheaply."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from bot.channels.guard import MessageGuard, Verdict, crisis_window, read_for_crisis
from bot.config import get_settings

FILLER = "I have been reading about treatments for a while now. "


def guard(**changes: int) -> MessageGuard:
    return MessageGuard(replace(get_settings(), redis_url="", **changes))


def test_crisis_wording_anywhere_in_a_megabyte_is_found_quickly() -> None:
    text = FILLER * 20_000 + "honestly I want to kill myself. " + FILLER * 100
    assert len(text) > 1_000_000
    started = time.monotonic()
    window = crisis_window(text)
    assert time.monotonic() - started < 2  # repeated text: each distinct window once
    assert window is not None and "kill myself" in window
    assert crisis_window(FILLER * 20_000) is None


def test_the_bot_reads_the_start_or_the_window_with_the_crisis() -> None:
    head = "I want to end my life. " + FILLER * 100
    assert read_for_crisis(head, 2000) == head[:2000]
    late = FILLER * 100 + "i want to kill myself"
    read = read_for_crisis(late, 2000)
    assert read is not None and len(read) <= 2000 and "kill myself" in read
    assert read_for_crisis(FILLER * 100, 2000) is None


def test_long_messages_are_cut_and_crisis_is_never_limited() -> None:
    g = guard(max_message_chars=2000, rate_limit_messages=2)
    long = asyncio.run(g.admit("a", FILLER * 100))
    assert (long.verdict, len(long.text), long.cut, long.crisis) == (Verdict.OK, 2000, True, False)
    assert asyncio.run(g.admit("a", "hello")).verdict is Verdict.OK
    assert asyncio.run(g.admit("a", "hello")).verdict is Verdict.RATE_LIMITED
    crisis = asyncio.run(g.admit("a", "i want to kill myself"))
    assert (crisis.verdict, crisis.crisis, crisis.cut) == (Verdict.OK, True, False)
    assert asyncio.run(g.admit("b", "   ")).verdict is Verdict.EMPTY
