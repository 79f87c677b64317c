"""SMS state in the database: who a conversation id belongs to, opt-outs, last choices,
and the MessageSids already received (a replayed webhook is not processed twice).

The number is kept only here (and on leads and outbound rows); everything
else refers to the keyed-hash conversation id.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.store.db import session_scope
from bot.store.models import SmsContact, SmsInbound, SmsOptOut


@dataclass(frozen=True)
class Inbound:
    """What the channel needs to know about the sender before the bot sees a message."""

    contact_id: int
    opted_out: bool
    choices: list[dict]


def is_opted_out(session: Session, phone_e164: str) -> bool:
    return session.get(SmsOptOut, phone_e164) is not None


def remember_contact(conversation_id: str, phone_e164: str) -> Inbound:
    """Create or refresh the id → number row; report opt-out and the last choices."""
    with session_scope() as session:
        contact = session.scalars(
            select(SmsContact).where(SmsContact.conversation_id == conversation_id)
        ).first()
        if contact is None:
            contact = SmsContact(conversation_id=conversation_id, phone_e164=phone_e164)
            session.add(contact)
        contact.phone_e164 = phone_e164
        session.flush()
        return Inbound(
            contact_id=contact.id,
            opted_out=is_opted_out(session, phone_e164),
            choices=list(contact.last_choices or []),
        )


def opt_out(phone_e164: str, keyword: str) -> bool:
    """Record an opt-out; True when the number was not already opted out."""
    with session_scope() as session:
        if is_opted_out(session, phone_e164):
            return False
        session.add(SmsOptOut(phone_e164=phone_e164, keyword=keyword[:20]))
        return True


def opt_in(phone_e164: str) -> bool:
    """Remove an opt-out (START/UNSTOP/YES); True when there was one."""
    with session_scope() as session:
        row = session.get(SmsOptOut, phone_e164)
        if row is None:
            return False
        session.delete(row)
        return True


def save_choices(conversation_id: str, choices: list[dict]) -> None:
    """Remember the numbered choices of the latest reply (an empty list clears them)."""
    with session_scope() as session:
        contact = session.scalars(
            select(SmsContact).where(SmsContact.conversation_id == conversation_id)
        ).first()
        if contact is not None:
            contact.last_choices = choices or None


def sms_number_for(conversation_id: str) -> str | None:
    """The sender's number for an SMS conversation (actions use it to offer the number)."""
    with session_scope() as session:
        return session.scalar(
            select(SmsContact.phone_e164).where(SmsContact.conversation_id == conversation_id)
        )


def first_delivery(message_sid: str) -> bool:
    """Record a Twilio MessageSid; False when it was received before (a replay or a retry)."""
    sid = message_sid[:64]
    try:
        with session_scope() as session:
            if session.get(SmsInbound, sid) is not None:
                return False
            session.add(SmsInbound(message_sid=sid))
    except IntegrityError:  # the same request twice at the same moment
        return False
    return True
