"""Staff take a conversation over, write to the person, and hand it back.

The assistant's silence is Rasa's own: taking over appends a `pause` event to
the conversation's tracker through Rasa's HTTP API (with RASA_API_TOKEN, from
the console's server side), and handing back appends `resume`. The events live
in the shared tracker store and Rasa appends them under the conversation's
lock, so every replica, and every replica after a restart, sees the same state;
a paused Rasa logs the person's messages (with their NLU parse, crisis score
included) and predicts nothing. `bot.channels.held` answers those turns: the
crisis reply at once, otherwise only a receipt.

What staff write is committed to `staff_messages` (the widget and REST clients
poll it; bot/channels/held.py) and, for an SMS conversation, queued in the
outbox as SMS (a number that texted STOP gets nothing). It is also appended to
the tracker as a bot message with `custom.type: staff`, so the transcript
shows it. Every staff message carries a `pause` too: writing to a person holds
the conversation, even if it had gone idle and Rasa had started a new session.

A conversation is held while its latest `pause` / `resume` / `session_started`
/ `restart` event is a `pause`: a new session after the session expiration of
silence ends a takeover, so a person who comes back hours later is answered.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import requests
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from bot.config import SMS_CHANNEL, Settings
from bot.staff.outbox import deliver_now, enqueue_sms
from bot.store.db import session_scope
from bot.store.models import SmsContact, StaffMessage
from bot.store.rasa_events import events_table

logger = logging.getLogger(__name__)

MAX_STAFF_MESSAGE_CHARS = 1000
RASA_TIMEOUT_SECONDS = 10.0
HOLD_EVENTS = ("pause", "resume", "session_started", "restart")
STAFF_MESSAGE_KIND = "staff_reply"  # outbox kind of the SMS that carries it
JOINED, STAFF, HANDED_BACK = "joined", "staff", "handed_back"


class TakeoverError(Exception):
    """Something staff must be told: the message was not sent."""


@dataclass(frozen=True)
class StaffMember:
    email: str
    first_name: str


@dataclass(frozen=True)
class Hold:
    staff_email: str
    staff_name: str
    since: datetime  # naive UTC


@dataclass(frozen=True)
class Sent:
    by_sms: bool  # False for a non-SMS conversation, or a number that texted STOP
    opted_out: bool = False


def first_name_of(email: str, first_name: str | None = None) -> str:
    """The name patients see: the account's first name, else the email's first word."""
    if first_name and first_name.strip():
        return first_name.strip()[:60]
    word = re.split(r"[._+\-]", email.split("@", 1)[0])[0]
    return (word or "Staff").capitalize()[:60]


# --- Rasa's HTTP API -----------------------------------------------------------


def append_events(settings: Settings, conversation_id: str, events: list[dict[str, Any]]) -> None:
    """POST events to the conversation's tracker (Rasa locks the conversation meanwhile)."""
    if not settings.rasa_api_token:
        raise TakeoverError(
            "Replying needs Rasa's HTTP API: set RASA_API_TOKEN for Rasa and the console."
        )
    url = f"{settings.rasa_url}/conversations/{quote(conversation_id, safe='')}/tracker/events"
    try:
        response = requests.post(
            url,
            params={"token": settings.rasa_api_token},
            json=events,
            timeout=RASA_TIMEOUT_SECONDS,
        )
    except requests.RequestException as exc:
        logger.error(
            "Rasa's HTTP API is unreachable at %s: %s", settings.rasa_url, type(exc).__name__
        )
        raise TakeoverError("The assistant's server is not reachable; nothing was sent.") from exc
    if response.status_code != 200:
        logger.error("Rasa refused the takeover events: HTTP %s", response.status_code)
        raise TakeoverError(f"The assistant's server refused (HTTP {response.status_code}).")


def _pause(staff: StaffMember) -> dict[str, Any]:
    return {
        "event": "pause",
        "metadata": {"staff_email": staff.email, "staff_name": staff.first_name},
    }


def staff_payload(kind: str, staff_name: str) -> dict[str, Any]:
    """The `custom` object of a message from the clinic (SPEC section 4, `staff`);
    a joined / handed-back note says which in `notice`."""
    custom: dict[str, Any] = {"type": "staff", "staff_name": staff_name}
    if kind != STAFF:
        custom["notice"] = kind
    return custom


def _bot(text: str, staff: StaffMember, kind: str = STAFF) -> dict[str, Any]:
    return {"event": "bot", "text": text, "data": {"custom": staff_payload(kind, staff.first_name)}}


# --- What the person gets --------------------------------------------------------


def joined_text(settings: Settings, staff: StaffMember, sms: bool) -> str:
    where = "by text" if sms else "here"
    return (
        f"{staff.first_name} from {settings.clinic.name} has joined the conversation "
        f"and will reply {where}."
    )


def handed_back_text(settings: Settings, staff: StaffMember) -> str:
    return (
        f"{staff.first_name} has handed you back to {settings.clinic.name}'s assistant. "
        "Ask me anything, or ask for a person again at any time."
    )


def sms_body(settings: Settings, kind: str, staff: StaffMember, text: str) -> str:
    """A staff message by SMS says who wrote it; notices already do."""
    return f"{staff.first_name} ({settings.clinic.name}): {text}" if kind == STAFF else text


def _tracker_rows(session: Session, query: Any) -> list[Any]:
    """Rows of Rasa's events table; none while the table does not exist (Rasa not
    started yet). Own connection: a missing table must not spoil the session."""
    try:
        with session.get_bind().connect() as connection:
            return list(connection.execute(query).all())
    except (OperationalError, ProgrammingError):
        return []


def has_events(session: Session, conversation_id: str) -> bool:
    """Whether Rasa's tracker store knows the conversation."""
    query = select(events_table.c.id).where(events_table.c.sender_id == conversation_id).limit(1)
    return bool(_tracker_rows(session, query))


def channel_of(session: Session, conversation_id: str) -> str | None:
    """The input channel of the conversation's latest user message (None: not known)."""
    query = (
        select(events_table.c.data)
        .where(events_table.c.sender_id == conversation_id, events_table.c.type_name == "user")
        .order_by(events_table.c.id.desc())
        .limit(1)
    )
    rows = _tracker_rows(session, query)
    try:
        return (json.loads(rows[0].data or "{}") or {}).get("input_channel") if rows else None
    except ValueError:
        return None


def _record(
    settings: Settings,
    conversation_id: str,
    kind: str,
    staff: StaffMember,
    text: str,
    channel: str | None = None,
) -> tuple[Sent, list[int]]:
    """Commit the message (and its SMS); the SMS rows to send now."""
    with session_scope(settings.database_url) as session:
        channel = channel or channel_of(session, conversation_id)
        message = StaffMessage(
            conversation_id=conversation_id,
            kind=kind,
            text=text,
            staff_name=staff.first_name,
            staff_email=staff.email,
            channel=channel,
        )
        session.add(message)
        session.flush()
        number = None
        if channel == SMS_CHANNEL:
            number = session.scalar(
                select(SmsContact.phone_e164).where(SmsContact.conversation_id == conversation_id)
            )
        alert = None
        if number and kind == JOINED:  # "1" now means a reply to staff, not an old choice
            session.execute(
                update(SmsContact)
                .where(SmsContact.conversation_id == conversation_id)
                .values(last_choices=None)
            )
        if number:
            alert = enqueue_sms(
                session,
                to=number,
                body=sms_body(settings, kind, staff, text),
                ref_id=message.id,
                kind=STAFF_MESSAGE_KIND,
            )
        sent = Sent(by_sms=alert is not None, opted_out=bool(number) and alert is None)
        return sent, [alert.id] if alert is not None else []


def _deliver(settings: Settings, alert_ids: list[int]) -> None:
    if not alert_ids:
        return
    try:
        deliver_now(settings, alert_ids)
    except Exception:  # noqa: BLE001 - queued: the outbox worker retries
        logger.exception("Immediate SMS delivery of a staff message failed; the outbox retries")


# --- The three things staff do ---------------------------------------------------


def take_over(settings: Settings, conversation_id: str, staff: StaffMember) -> Sent:
    """Pause the assistant (ending any form) and tell the person who joined."""
    with session_scope(settings.database_url) as session:
        channel = channel_of(session, conversation_id)
    text = joined_text(settings, staff, channel == SMS_CHANNEL)
    append_events(
        settings,
        conversation_id,
        [
            _pause(staff),
            {"event": "active_loop", "name": None},
            {"event": "slot", "name": "requested_slot", "value": None},
            _bot(text, staff, JOINED),
        ],
    )
    sent, alert_ids = _record(settings, conversation_id, JOINED, staff, text, channel)
    _deliver(settings, alert_ids)
    logger.info("Conversation %s taken over by %s", conversation_id[:10], staff.email)
    return sent


def send(settings: Settings, conversation_id: str, staff: StaffMember, text: str) -> Sent:
    """Deliver one staff message; the conversation is (or stays) held."""
    text = text.strip()
    if not text:
        raise TakeoverError("The message is empty.")
    if len(text) > MAX_STAFF_MESSAGE_CHARS:
        raise TakeoverError(f"A message can be at most {MAX_STAFF_MESSAGE_CHARS} characters.")
    append_events(settings, conversation_id, [_pause(staff), _bot(text, staff)])
    sent, alert_ids = _record(settings, conversation_id, STAFF, staff, text)
    _deliver(settings, alert_ids)
    return sent


def hand_back(settings: Settings, conversation_id: str, staff: StaffMember) -> Sent:
    """Resume the assistant with a short note; its next turn starts after a listen."""
    text = handed_back_text(settings, staff)
    append_events(
        settings,
        conversation_id,
        [
            _bot(text, staff, HANDED_BACK),
            {"event": "resume", "metadata": {"staff_email": staff.email}},
            {"event": "action", "name": "action_listen"},
        ],
    )
    sent, alert_ids = _record(settings, conversation_id, HANDED_BACK, staff, text)
    _deliver(settings, alert_ids)
    logger.info("Conversation %s handed back by %s", conversation_id[:10], staff.email)
    return sent


# --- Reading the state -------------------------------------------------------------


def holds_of(session: Session, conversation_ids: Iterable[str]) -> dict[str, Hold]:
    """Who holds each of these conversations now (from the tracker's own events);
    conversations nobody holds are left out. Two queries, whatever the number."""
    ids = list(set(conversation_ids))
    if not ids:
        return {}
    latest = (
        select(func.max(events_table.c.id))
        .where(events_table.c.sender_id.in_(ids), events_table.c.type_name.in_(HOLD_EVENTS))
        .group_by(events_table.c.sender_id)
    )
    rows = _tracker_rows(
        session,
        select(
            events_table.c.sender_id,
            events_table.c.type_name,
            events_table.c.timestamp,
            events_table.c.data,
        ).where(events_table.c.id.in_(latest), events_table.c.type_name == "pause"),
    )
    holds = {}
    for row in rows:
        try:
            metadata = (json.loads(row.data or "{}") or {}).get("metadata") or {}
        except ValueError:
            metadata = {}
        email = str(metadata.get("staff_email") or "")
        holds[row.sender_id] = Hold(
            staff_email=email,
            staff_name=str(metadata.get("staff_name") or first_name_of(email or "staff")),
            since=datetime.fromtimestamp(row.timestamp or 0, tz=timezone.utc).replace(tzinfo=None),
        )
    return holds


def hold_of(session: Session, conversation_id: str) -> Hold | None:
    """Who holds the conversation now, or None."""
    return holds_of(session, [conversation_id]).get(conversation_id)


def messages_after(
    session: Session, conversation_id: str, after: int, limit: int = 50
) -> list[StaffMessage]:
    """The conversation's staff messages with an id above `after`, oldest first."""
    return list(
        session.scalars(
            select(StaffMessage)
            .where(StaffMessage.conversation_id == conversation_id, StaffMessage.id > after)
            .order_by(StaffMessage.id)
            .limit(limit)
        )
    )
