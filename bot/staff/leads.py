"""Consultation requests (leads) and handoffs to staff: parsing, saving, alerting.

A lead or handoff and its staff alerts are committed in one transaction
before the bot confirms anything to the person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import phonenumbers
from sqlalchemy import func, select

from bot.config import Settings
from bot.staff.escalation import alert_text
from bot.staff.outbox import enqueue
from bot.store.db import session_scope
from bot.store.models import Handoff, Lead, utcnow

DUPLICATE_WINDOW = timedelta(days=1)
MAX_NEW_LEADS_PER_CONVERSATION_PER_DAY = 3
MAX_SUBMISSIONS_PER_LEAD_PER_DAY = 5
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
NAME_INLINE = re.compile(
    r"\b(?:my name is|my name's|this is|name:)\s+"
    r"([A-Za-z][A-Za-z'\-]+(?:\s+[A-Za-z][A-Za-z'\-]+){0,3})",
    re.IGNORECASE,
)
NAME_ALLOWED = re.compile(r"^[^\W\d_][\w'\-. ]{0,79}$", re.UNICODE)


class RateLimited(Exception):
    """The same sender submitted too many requests; staff already have them."""


@dataclass(frozen=True)
class LeadDetails:
    name: str
    phone_e164: str
    email: str | None
    contact_time: str | None


def parse_phone(raw: str, region: str) -> str | None:
    """The number in E.164 (+14158675309), or None if it is not a valid number."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def find_phone(text: str, region: str) -> str | None:
    """A valid phone number written anywhere in a message, in E.164."""
    for match in phonenumbers.PhoneNumberMatcher(text, region):
        if phonenumbers.is_valid_number(match.number):
            return phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
    return None


def find_email(text: str) -> str | None:
    match = EMAIL.search(text)
    return match.group(0).lower() if match else None


NOT_NAME_WORDS = frozenset(
    "and my number is phone email call text me please i im at or but so the".split()
)


def find_name(text: str) -> str | None:
    """A name given inline ("my name is Ana Ruiz and my number is ...")."""
    match = NAME_INLINE.search(text)
    if not match:
        return None
    words = []
    for word in match.group(1).split():
        if word.lower() in NOT_NAME_WORDS:
            break
        words.append(word)
    return clean_name(" ".join(words)) if words else None


def clean_name(text: str) -> str | None:
    """A plausible name (letters first, at most 80 characters), tidied; else None."""
    name = " ".join(text.strip().strip(".!,").split())
    if not name or not NAME_ALLOWED.match(name) or len(name.split()) > 6:
        return None
    return name if any(ch.isupper() for ch in name) else name.title()


def pretty_phone(e164: str) -> str:
    number = phonenumbers.parse(e164, None)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


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
        lead.consent = True
        lead.consent_text = consent_text(settings)
        session.flush()
        lines = [
            f"Name: {lead.name}",
            f"Phone: {lead.phone_e164}",
            f"Email: {lead.email or '-'}",
            f"Best time: {lead.contact_time or 'any time'}",
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
