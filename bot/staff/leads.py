"""Consultation requests (leads) and handoffs to staff: saving and alerting.

A lead or handoff and its staff alerts are committed in one transaction
before the bot confirms anything to the person. Reading the details from
free text is `bot.staff.contact_details` (re-exported here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.config import Settings
from bot.staff.contact_details import (  # noqa: F401 - re-exported for callers and tests
    EMAIL,
    clean_name,
    find_email,
    find_name,
    find_phone,
    parse_phone,
    pretty_phone,
)
from bot.staff.escalation import alert_text
from bot.staff.outbox import enqueue
from bot.store.db import session_scope
from bot.store.models import Handoff, Lead, utcnow

DUPLICATE_WINDOW = timedelta(days=1)
MAX_NEW_LEADS_PER_CONVERSATION_PER_DAY = 3
MAX_SUBMISSIONS_PER_LEAD_PER_DAY = 5


class RateLimited(Exception):
    """The same sender submitted too many requests; staff already have them."""


@dataclass(frozen=True)
class LeadDetails:
    name: str
    phone_e164: str
    email: str | None
    contact_time: str | None
    booking_for: str | None = None  # a relative ("mother") when booking for someone else


@dataclass(frozen=True)
class LeadState:
    """What the person can be told about their saved request."""

    lead_id: int
    status: str  # new | contacted | resolved
    phone_e164: str
    contact_time: str | None
    created_at: datetime
    updated_at: datetime


def consent_text(settings: Settings) -> str:
    return (
        f"I agree that {settings.clinic.name} may contact me by phone, text or email "
        "about a consultation."
    )


def save_lead(
    settings: Settings,
    *,
    conversation_id: str,
    channel: str | None,
    details: LeadDetails,
    urgent: bool = False,
) -> tuple[int, bool]:
    """Commit the lead (or update today's lead for the same phone); return (id, updated)."""
    since = utcnow() - DUPLICATE_WINDOW
    with session_scope() as session:
        lead = session.scalars(
            select(Lead)
            .where(Lead.phone_e164 == details.phone_e164, Lead.created_at >= since)
            .order_by(Lead.id.desc())
            .limit(1)
        ).first()
        updated = lead is not None
        if lead is not None:
            if lead.submissions >= MAX_SUBMISSIONS_PER_LEAD_PER_DAY:
                raise RateLimited
            lead.submissions += 1
        else:
            recent = session.scalar(
                select(func.count(Lead.id)).where(
                    Lead.conversation_id == conversation_id, Lead.created_at >= since
                )
            )
            if recent >= MAX_NEW_LEADS_PER_CONVERSATION_PER_DAY:
                raise RateLimited
            lead = Lead(conversation_id=conversation_id, channel=channel, consent=True)
            session.add(lead)
        lead.name = details.name
        lead.phone_e164 = details.phone_e164
        lead.email = details.email or lead.email
        lead.contact_time = details.contact_time or lead.contact_time
        lead.booking_for = details.booking_for or lead.booking_for
        lead.consent = True
        lead.consent_text = consent_text(settings)
        session.flush()
        lines = [
            f"Name: {lead.name}",
            f"Phone: {lead.phone_e164}",
            f"Email: {lead.email or '-'}",
            f"Best time: {lead.contact_time or 'any time'}",
            *([f"Booking for: their {lead.booking_for}"] if lead.booking_for else []),
            "Consent to contact: yes",
        ]
        enqueue(
            session,
            settings,
            kind="lead",
            ref_id=lead.id,
            subject=(
                f"{'URGENT call-back after a crisis - ' if urgent else ''}"
                f"{'Updated' if updated else 'New'} consultation request #{lead.id}"
            ),
            body="\n".join(
                [
                    f"{'Updated' if updated else 'New'} consultation request.",
                    *lines,
                    f"Channel: {channel or 'unknown'}",
                    f"Conversation: {conversation_id}",
                ]
            ),
        )
        return lead.id, updated


def lead_state(lead_id: int) -> LeadState | None:
    """The saved request as staff left it (status), for "what happens next?"."""
    with session_scope() as session:
        lead = session.get(Lead, lead_id)
        if lead is None:
            return None
        return LeadState(
            lead_id=lead.id,
            status=lead.status,
            phone_e164=lead.phone_e164,
            contact_time=lead.contact_time,
            created_at=lead.created_at,
            updated_at=lead.updated_at or lead.created_at,
        )


def record_handoff(
    settings: Settings,
    *,
    conversation_id: str,
    channel: str | None,
    reason: str,
    last_message: str,
    contact: str | None,
) -> int:
    """Commit the handoff and its staff alert; return the handoff id."""
    with session_scope() as session:
        handoff = Handoff(
            conversation_id=conversation_id,
            channel=channel,
            reason=reason,
            last_message=last_message,
            contact=contact,
        )
        session.add(handoff)
        session.flush()
        enqueue(
            session,
            settings,
            kind="handoff",
            ref_id=handoff.id,
            subject=f"Handoff #{handoff.id}: a person wants to talk to staff",
            body=alert_text(
                title=f"Handed to staff ({reason}).",
                conversation_id=conversation_id,
                channel=channel,
                message=last_message,
                contact=contact,
            ),
        )
        return handoff.id
