"""Pure SMS helpers: keywords, private conversation ids, numbered choices, splitting.

No I/O here, so the rules that decide what a patient sees on a phone are
unit-tested directly (tests/test_sms_unit.py).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import textwrap
from dataclasses import dataclass, field

import phonenumbers

# Carrier/CTIA keywords, matched only when they are the whole message.
STOP_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_KEYWORDS = frozenset({"START", "UNSTOP"})
# "YES" re-subscribes only an opted-out number; otherwise it is a normal answer.
START_IF_OPTED_OUT = frozenset({"YES"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})

CHOICE = re.compile(r"^\s*#?(\d{1,2})\s*[.)]?\s*$")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def keyword(text: str) -> str | None:
    """The compliance keyword the whole message is ("STOP", "stop." …), upper-cased, or None."""
    word = text.strip().strip(".!").strip().upper()
    if word in STOP_KEYWORDS | START_KEYWORDS | START_IF_OPTED_OUT | HELP_KEYWORDS:
        return word
    return None


def conversation_id(secret: str, phone_e164: str) -> str:
    """Keyed hash of the number: stable per person, but no number in trackers or logs."""
    return hmac.new(secret.encode(), phone_e164.encode(), hashlib.sha256).hexdigest()


def normalize_number(raw: str, region: str = "US") -> str | None:
    """Twilio's `From` in E.164; None when it is not a phone number we can text back."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def choices_text(titles: list[str], start: int = 1) -> str:
    """ "Reply 1 for Yes, 2 for No." — buttons as something a phone can show."""
    parts = [f"{start + i} for {' '.join(title.split())}" for i, title in enumerate(titles)]
    return f"Reply {', '.join(parts)}."


def pick_choice(text: str, choices: list[dict] | None) -> str | None:
    """The payload of the numbered choice a reply like "1" or "2." picks, if any."""
    match = CHOICE.match(text or "")
    if not match or not choices:
        return None
    index = int(match.group(1)) - 1
    if 0 <= index < len(choices):
        return str(choices[index].get("payload") or "") or None
    return None


def _units(text: str, max_chars: int) -> list[str]:
    """Sentences (or lines), each hard-wrapped at words if longer than one SMS."""
    units: list[str] = []
    for sentence in SENTENCE_END.split(text.strip()):
        sentence = " ".join(sentence.split())
        if sentence:
            units += textwrap.wrap(sentence, max_chars) or [sentence]
    return units


def _groups(units: list[str], max_chars: int) -> list[list[str]]:
    """Greedy packing of whole units into SMS-sized groups."""
    groups: list[list[str]] = []
    for unit in units:
        if groups and len(" ".join(groups[-1])) + 1 + len(unit) <= max_chars:
            groups[-1].append(unit)
        else:
            groups.append([unit])
    return groups


def _pack(units: list[str], max_chars: int) -> list[str]:
    return [" ".join(group) for group in _groups(units, max_chars)]


def split_sms(
    text: str,
    *,
    max_chars: int,
    max_segments: int,
    more_url: str = "",
    lead: str = "",
    tail: str = "",
) -> list[str]:
    """Split a reply at sentence boundaries into at most `max_segments` SMS.

    `lead` (the crisis line) is kept in the first SMS; `tail` (the numbered
    choices) always ends the last one. A reply that would need more SMS is
    cut at a sentence and ends with a link to the full answer instead.
    """
    units = _units(text, max_chars)
    if lead and lead in text and lead not in (_pack(units, max_chars) or [""])[0]:
        units = [u for u in units if lead in u] + [u for u in units if lead not in u]
    chunks = _pack(units, max_chars)
    tail = " ".join(tail.split())
    if len(chunks) <= max_segments:
        if not tail:
            return chunks
        if chunks and len(chunks[-1]) + 1 + len(tail) <= max_chars:
            chunks[-1] += "\n" + tail
            return chunks
        if len(chunks) < max_segments:
            return [*chunks, tail]
    # Too long: keep whole sentences, then the link and the choices.
    ending = "\n".join(x for x in (f"Full answer: {more_url}" if more_url else "", tail) if x)
    groups = _groups(units, max_chars)[: max_segments - 1]
    kept = [" ".join(group) for group in groups]
    rest = units[sum(len(group) for group in groups) :]
    last = ""
    for unit in rest:
        candidate = f"{last} {unit}".strip()
        if len(candidate) + 1 + len(ending) > max_chars:
            break
        last = candidate
    if not last and not ending:
        return kept
    final = "\n".join(x for x in (last, ending) if x)
    return [*kept, final[:max_chars]]


@dataclass
class SmsTurn:
    """What one bot turn becomes on a phone: SMS bodies and the choices they number."""

    bodies: list[str] = field(default_factory=list)
    choices: list[dict] = field(default_factory=list)


def crisis_first(messages: list[dict]) -> list[dict]:
    """Move the crisis reply (the text just before the first `crisis` payload) to the front.

    It already leads a crisis turn, except when a session-start notice comes
    first; on a phone the crisis resources must be the very first SMS.
    """
    for index, message in enumerate(messages):
        custom = message.get("custom")
        if isinstance(custom, dict) and custom.get("type") == "crisis":
            for before in range(index, -1, -1):
                if messages[before].get("text"):
                    crisis = messages[before]
                    return [crisis, *(m for m in messages if m is not crisis)]
            break
    return messages


def render_turn(
    messages: list[dict],
    *,
    max_chars: int,
    max_segments: int,
    more_url: str = "",
    crisis_line: str = "988",
) -> SmsTurn:
    """Rasa's messages for one turn → SMS bodies; buttons numbered across the turn."""
    turn = SmsTurn()
    for message in crisis_first(messages):
        text = (message.get("text") or "").strip()
        buttons = [b for b in message.get("buttons") or [] if b.get("title")]
        tail = ""
        if buttons:
            tail = choices_text([b["title"] for b in buttons], start=len(turn.choices) + 1)
            turn.choices += [{"title": b["title"], "payload": b.get("payload")} for b in buttons]
        if not text and not tail:
            continue
        turn.bodies += split_sms(
            text,
            max_chars=max_chars,
            max_segments=max_segments,
            more_url=more_url,
            lead=crisis_line,
            tail=tail,
        )
    return turn
