"""Recording a crisis escalation and its staff alerts, in one transaction.

An escalation is an *episode*: a crisis message of a conversation that has an
open escalation whose last crisis message is less than
ESCALATION_EPISODE_MINUTES old updates that escalation (message count, last
message) instead of creating a new one. Staff get one alert when the episode
starts and then at most one update alert per ESCALATION_UPDATE_MINUTES, so a
flood of crisis messages cannot flood the on-call phone.

Each message is recorded under a `message_key` (one per user message), so
recording the same message again (the NLG that sent the crisis reply, the
crisis action, a retry after a database failure) returns the same escalation
and changes nothing. Alert bodies are capped at ALERT_BODY_MAX_CHARS.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.staff.outbox import enqueue
from bot.store.db import session_scope
from bot.store.models import Escalation, EscalationMessage, utcnow

ALERT_BODY_MAX_CHARS = 2000
MESSAGE_MAX_CHARS = 2000  # stored per crisis message (an alert shows at most this much)
OPEN_STATUSES = ("new", "contacted")
ELLIPSIS = "…"


def cap(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, with an ellipsis when it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def message_key(conversation_id: str, message_id: str) -> str:
    """The key under which one user message of one conversation is recorded."""
    return hashlib.sha256(f"{conversation_id}\0{message_id}".encode()).hexdigest()


def alert_text(
    *,
    title: str,
    conversation_id: str,
    channel: str | None,
    message: str,
    contact: str | None,
    extra: list[str] | None = None,
) -> str:
    """What on-call staff need in order to act, in a few lines (at most ALERT_BODY_MAX_CHARS)."""
    lines = [
        title,
        f"Time (UTC): {utcnow():%Y-%m-%d %H:%M:%S}",
        f"Channel: {channel or 'unknown'}",
        f"Conversation: {conversation_id}",
        f"Contact: {contact or 'not known yet'}",
        *(extra or []),
        f"Message: {message}",
    ]
    return cap("\n".join(lines), ALERT_BODY_MAX_CHARS)


@dataclass(frozen=True)
class Recorded:
    escalation_id: int
    new_episode: bool  # a new escalation (staff were alerted)
    alerted: bool  # alerts were queued for this message (new episode or an update)
    duplicate: bool = False  # this message had been recorded already


def record_crisis(
    settings: Settings,
    *,
    conversation_id: str,
    channel: str | None,
    message: str,
    detected_by: str,
    contact: str | None = None,
    key: str | None = None,
    note: str | None = None,
    resources_given: bool = True,
    now: datetime | None = None,
) -> Recorded:
    """Commit a crisis message: a new escalation with its alerts, or an update of the
    conversation's open episode (with an update alert when one is due).

    `key` (see `message_key`) makes recording the same message twice harmless;
    `note` is an extra line for staff; `resources_given` is False when the person
    was sent nothing (an SMS number that opted out).
    """
    now = now or utcnow()
    text = cap(message, MESSAGE_MAX_CHARS)
    try:
        with session_scope() as session:
            if key is not None:
                seen = session.scalar(
                    select(EscalationMessage.escalation_id).where(
                        EscalationMessage.message_key == key
                    )
                )
                if seen is not None:
                    return Recorded(seen, new_episode=False, alerted=False, duplicate=True)
            episode = session.scalars(
                select(Escalation)
                .where(
                    Escalation.conversation_id == conversation_id,
                    Escalation.status.in_(OPEN_STATUSES),
                    Escalation.last_message_at
                    >= now - timedelta(minutes=settings.escalation_episode_minutes),
                )
                .order_by(Escalation.id.desc())
                .limit(1)
            ).first()
            if episode is None:
                recorded = _new_episode(
                    session,
                    settings,
                    conversation_id=conversation_id,
                    channel=channel,
                    text=text,
                    detected_by=detected_by,
                    contact=contact,
                    note=note,
                    resources_given=resources_given,
                    now=now,
                )
            else:
                recorded = _update_episode(
                    session, settings, episode, text=text, contact=contact, note=note, now=now
                )
            session.add(
                EscalationMessage(
                    escalation_id=recorded.escalation_id, message_key=key, text=text, created_at=now
                )
            )
            session.flush()
            return recorded
    except IntegrityError:
        # Recorded at the same moment by another path (a retry, another replica).
        if key is None:
            raise
        with session_scope() as session:
            seen = session.scalar(
                select(EscalationMessage.escalation_id).where(EscalationMessage.message_key == key)
            )
        if seen is None:
            raise
        return Recorded(seen, new_episode=False, alerted=False, duplicate=True)


def _new_episode(
    session: Session,
    settings: Settings,
    *,
    conversation_id: str,
    channel: str | None,
    text: str,
    detected_by: str,
    contact: str | None,
    note: str | None,
    resources_given: bool,
    now: datetime,
) -> Recorded:
    escalation = Escalation(
        conversation_id=conversation_id,
        channel=channel,
        message_text=text,
        detected_by=detected_by[:120],
        contact=contact,
        message_count=1,
        last_message_at=now,
        last_alert_at=now,
    )
    session.add(escalation)
    session.flush()
    enqueue(
        session,
        settings,
        kind="crisis",
        ref_id=escalation.id,
        subject=f"CRISIS escalation #{escalation.id} - reach out now",
        body=alert_text(
            title="A person may be in crisis. "
            + (
                "They were given 988/911 resources."
                if resources_given
                else "Nothing could be sent to them."
            ),
            conversation_id=conversation_id,
            channel=channel,
            message=text,
            contact=contact,
            extra=[note] if note else None,
        ),
    )
    return Recorded(escalation.id, new_episode=True, alerted=True)


def _update_episode(
    session: Session,
    settings: Settings,
    episode: Escalation,
    *,
    text: str,
    contact: str | None,
    note: str | None,
    now: datetime,
) -> Recorded:
    episode.message_count = (episode.message_count or 1) + 1
    episode.last_message_at = now
    if contact and not episode.contact:
        episode.contact = contact
    last_alert = episode.last_alert_at or episode.created_at
    if now - last_alert < timedelta(minutes=settings.escalation_update_minutes):
        return Recorded(episode.id, new_episode=False, alerted=False)
    since = session.scalar(
        select(func.count())
        .select_from(EscalationMessage)
        .where(
            EscalationMessage.escalation_id == episode.id,
            EscalationMessage.created_at > last_alert,
        )
    )
    episode.last_alert_at = now
    new_messages = int(since or 0) + 1
    enqueue(
        session,
        settings,
        kind="crisis",
        ref_id=episode.id,
        subject=f"CRISIS escalation #{episode.id} - update: {new_messages} more message(s)",
        body=alert_text(
            title=(
                f"UPDATE to crisis escalation #{episode.id}: the person sent {new_messages} "
                f"more crisis message(s), {episode.message_count} in all."
            ),
            conversation_id=episode.conversation_id,
            channel=episode.channel,
            message=text,
            contact=episode.contact,
            extra=[note] if note else None,
        ),
    )
    return Recorded(episode.id, new_episode=False, alerted=True)


@dataclass(frozen=True)
class Callback:
    escalation_id: int
    new_escalation: bool  # no open escalation was found, so one was created for the call-back


def record_callback(
    settings: Settings,
    *,
    conversation_id: str,
    channel: str | None,
    phone_e164: str,
    now: datetime | None = None,
) -> Callback:
    """After the crisis protocol the person asked to be called back: put the number on the
    conversation's latest open escalation (contact known, call-back requested) and queue an
    URGENT alert, in one transaction. With no open escalation (it could not be recorded
    yet), one is created for the call-back, so the request is never lost."""
    now = now or utcnow()
    with session_scope() as session:
        escalation = session.scalars(
            select(Escalation)
            .where(
                Escalation.conversation_id == conversation_id,
                Escalation.status.in_(OPEN_STATUSES),
            )
            .order_by(Escalation.id.desc())
            .limit(1)
        ).first()
        created = escalation is None
        if escalation is None:
            escalation = Escalation(
                conversation_id=conversation_id,
                channel=channel,
                message_text="(asked for a call-back after the crisis protocol)",
                detected_by="call-back request",
                message_count=1,
                last_message_at=now,
                last_alert_at=now,
            )
            session.add(escalation)
        escalation.contact = phone_e164
        escalation.callback_requested_at = now
        session.flush()
        enqueue(
            session,
            settings,
            kind="crisis",
            ref_id=escalation.id,
            subject=f"URGENT call-back: crisis escalation #{escalation.id} - call {phone_e164}",
            body=alert_text(
                title=(
                    f"URGENT call-back requested for crisis escalation #{escalation.id}: "
                    "the person "
                    f"asked our care team to call them at {phone_e164}. They were given 988/911."
                ),
                conversation_id=conversation_id,
                channel=escalation.channel or channel,
                message=escalation.message_text,
                contact=phone_e164,
            ),
        )
        return Callback(escalation.id, new_escalation=created)
