"""Recording a crisis escalation and its staff alerts, in one transaction."""

from __future__ import annotations

from bot.config import Settings
from bot.staff.outbox import enqueue
from bot.store.db import session_scope
from bot.store.models import Escalation, utcnow


def alert_text(
    *, title: str, conversation_id: str, channel: str | None, message: str, contact: str | None
) -> str:
    """What on-call staff need in order to act, in a few lines."""
    return "\n".join(
        [
            title,
            f"Time (UTC): {utcnow():%Y-%m-%d %H:%M:%S}",
            f"Channel: {channel or 'unknown'}",
            f"Conversation: {conversation_id}",
            f"Contact: {contact or 'not known yet'}",
            f"Message: {message}",
        ]
    )


def record_escalation(
    settings: Settings,
    *,
    conversation_id: str,
    channel: str | None,
    message: str,
    detected_by: str,
    contact: str | None = None,
) -> int:
    """Commit the escalation and its pending alerts; return the escalation id."""
    with session_scope() as session:
        escalation = Escalation(
            conversation_id=conversation_id,
            channel=channel,
            message_text=message,
            detected_by=detected_by,
            contact=contact,
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
                title="A person may be in crisis. They were given 988/911 resources.",
                conversation_id=conversation_id,
                channel=channel,
                message=message,
                contact=contact,
            ),
        )
        return escalation.id
