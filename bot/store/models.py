"""The project's own tables (Rasa's tracker store keeps its `events` table)."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)

from bot.store.db import Base


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class ContentItem(Base):
    """One version of one vetted content item, as loaded from `bot/content/`."""

    __tablename__ = "content_items"
    __table_args__ = (UniqueConstraint("content_id", "version"),)

    id = Column(Integer, primary_key=True)
    content_id = Column(String(120), nullable=False, index=True)
    version = Column(Integer, nullable=False)
    topic = Column(String(60), nullable=False)
    title = Column(String(120), nullable=False, default="", server_default="")
    status = Column(String(20), nullable=False)
    reviewed_by = Column(String(200), nullable=False)
    reviewed_on = Column(Date, nullable=False)
    sources = Column(JSON, nullable=False)
    answer_web = Column(Text, nullable=False)
    answer_sms = Column(Text, nullable=False)
    # [{"title": ..., "intent": ...}]: buttons sent under the answer (payload "/<intent>")
    buttons = Column(JSON, nullable=False, default=list, server_default="[]")
    loaded_at = Column(DateTime, nullable=False, default=utcnow)


class AnswerServed(Base):
    """Audit: which content version was served to which conversation, and when."""

    __tablename__ = "answers_served"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    content_id = Column(String(120), nullable=False)
    version = Column(Integer, nullable=False)
    channel = Column(String(40))
    confidence = Column(Float)
    served_at = Column(DateTime, nullable=False, default=utcnow)


class UnansweredQuestion(Base):
    """A message the bot could not answer: tells staff what content to write next."""

    __tablename__ = "unanswered_questions"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    channel = Column(String(40))
    text = Column(Text, nullable=False)
    confidence = Column(Float)
    # "fallback": not answered; "suggestions": likely items were offered (`offered`,
    # comma-separated content ids) and `chosen` is the one picked (None: none was);
    # "related": answered, but the person picked `chosen` from the items offered
    # under the answer instead.
    kind = Column(String(20), nullable=False, default="fallback", server_default="fallback")
    offered = Column(String(500))
    chosen = Column(String(120))
    created_at = Column(DateTime, nullable=False, default=utcnow)


class Escalation(Base):
    """A crisis escalation: staff must reach out."""

    __tablename__ = "escalations"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    channel = Column(String(40))
    message_text = Column(Text, nullable=False)
    detected_by = Column(String(120), nullable=False)
    contact = Column(String(255))
    status = Column(String(20), nullable=False, default="new")
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    # An episode: later crisis messages of the conversation update this row
    # (ESCALATION_EPISODE_MINUTES) instead of making new ones; staff get at most
    # one update alert per ESCALATION_UPDATE_MINUTES (last_alert_at).
    message_count = Column(Integer, nullable=False, default=1, server_default="1")
    last_message_at = Column(DateTime, default=utcnow)
    last_alert_at = Column(DateTime)
    # The person asked the care team to call them back (the number is `contact`).
    callback_requested_at = Column(DateTime)


class EscalationMessage(Base):
    """One crisis message of an escalation episode (capped text).

    `message_key` identifies the user message, so recording it again (the NLG,
    the crisis action, a retry) changes nothing.
    """

    __tablename__ = "escalation_messages"

    id = Column(Integer, primary_key=True)
    escalation_id = Column(Integer, nullable=False, index=True)
    message_key = Column(String(64), unique=True)
    text = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class Lead(Base):
    """A consultation request: the person agreed to be contacted."""

    __tablename__ = "leads"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    channel = Column(String(40))
    name = Column(String(200), nullable=False)
    phone_e164 = Column(String(20), nullable=False, index=True)
    email = Column(String(320))
    contact_time = Column(String(200))
    booking_for = Column(String(60))  # a relative ("mother") when booking for someone else
    consent = Column(Boolean, nullable=False)
    consent_text = Column(Text, nullable=False)
    submissions = Column(Integer, nullable=False, default=1)
    status = Column(String(20), nullable=False, default="new")
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class Handoff(Base):
    """A conversation handed to staff (asked for a person, or the bot could not help)."""

    __tablename__ = "handoffs"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    channel = Column(String(40))
    reason = Column(String(200), nullable=False)
    last_message = Column(Text)
    contact = Column(String(320))
    status = Column(String(20), nullable=False, default="new")
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


CRISIS_PRIORITY = 100
HANDOFF_PRIORITY = 10


def _alert_priority(context) -> int:  # type: ignore[no-untyped-def]
    """Default priority from the alert's kind, however the row is inserted."""
    kind = str(context.get_current_parameters().get("kind") or "")
    if kind.startswith("crisis"):
        return CRISIS_PRIORITY
    return HANDOFF_PRIORITY if kind.startswith("handoff") else 0


class Alert(Base):
    """Outbox row: one staff notification for one notifier, kept until delivered."""

    __tablename__ = "alerts"

    id = Column(Integer, primary_key=True)
    kind = Column(String(20), nullable=False)  # crisis | lead | handoff
    ref_id = Column(Integer, nullable=False)
    notifier = Column(String(20), nullable=False)  # webhook | email | sms
    target = Column(String(500), nullable=False)
    subject = Column(String(300), nullable=False)
    body = Column(Text, nullable=False)
    status = Column(String(20), nullable=False, default="pending", index=True)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    last_error = Column(Text)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    sent_at = Column(DateTime)
    # Claimed first when due: crisis alerts (CRISIS_PRIORITY) before everything else.
    priority = Column(Integer, nullable=False, default=_alert_priority, server_default="0")
    # Lease: the worker delivering the row, and until when no other worker may take it.
    # A pending row whose lease has expired was abandoned mid-delivery (a crash).
    claimed_by = Column(String(120))
    lease_until = Column(DateTime)

    __table_args__ = (Index("ix_alerts_claim", "status", "priority", "next_attempt_at"),)


__all__ = [
    "AnswerServed",
    "Alert",
    "ContentItem",
    "Escalation",
    "Handoff",
    "Lead",
    "UnansweredQuestion",
    "utcnow",
]


class StaffUser(Base):
    """A staff console account; the password is stored only as a werkzeug hash."""

    __tablename__ = "staff_users"

    id = Column(Integer, primary_key=True)
    email = Column(String(320), nullable=False, unique=True)
    password_hash = Column(String(255), nullable=False)
    is_active = Column(Boolean, nullable=False, default=True)
    # Lockout after repeated failures slows down password guessing.
    failed_logins = Column(Integer, nullable=False, default=0)
    locked_until = Column(DateTime)
    last_login_at = Column(DateTime)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    # Stored in every signed session cookie; bumped on logout and password
    # change/reset, so every cookie issued before stops working.
    session_version = Column(Integer, nullable=False, default=1, server_default="1")
    password_changed_at = Column(DateTime)
    # Shown to patients on staff messages ("Clinic staff · Dana"); else from the email.
    first_name = Column(String(60))


class LoginFailure(Base):
    """A failed console sign-in, by client address: lockout per address as well."""

    __tablename__ = "console_login_failures"

    id = Column(Integer, primary_key=True)
    client_address = Column(String(64), nullable=False)
    email = Column(String(320))
    failed_at = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (Index("ix_console_login_failures_address", "client_address", "failed_at"),)


class StatusChange(Base):
    """Audit trail: who moved an escalation, handoff or lead to which status, and when."""

    __tablename__ = "status_changes"

    id = Column(Integer, primary_key=True)
    item_kind = Column(String(20), nullable=False)  # escalation | handoff | lead
    item_id = Column(Integer, nullable=False)
    old_status = Column(String(20), nullable=False)
    new_status = Column(String(20), nullable=False)
    note = Column(Text)
    # The email is copied so the trail stays readable if an account is removed.
    changed_by_id = Column(Integer)
    changed_by_email = Column(String(320), nullable=False)
    changed_at = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (Index("ix_status_changes_item", "item_kind", "item_id"),)


__all__ += ["CRISIS_PRIORITY", "LoginFailure", "StaffUser", "StatusChange"]


class SmsContact(Base):
    """Maps an SMS conversation id (HMAC of the number) to the number itself.

    Only this table, opt-outs, leads and outbound rows hold phone numbers, so the
    tracker store and logs see the keyed hash only. `last_choices` keeps the
    numbered choices of the last reply, so a reply of "1" means that button.
    """

    __tablename__ = "sms_contacts"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(64), nullable=False, unique=True)
    phone_e164 = Column(String(20), nullable=False, index=True)
    last_choices = Column(JSON)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class SmsOptOut(Base):
    """A number that texted STOP: nothing is sent to it until it texts START."""

    __tablename__ = "sms_opt_outs"

    phone_e164 = Column(String(20), primary_key=True)
    keyword = Column(String(20), nullable=False)
    opted_out_at = Column(DateTime, nullable=False, default=utcnow)


class SmsInbound(Base):
    """A Twilio MessageSid already received: a replayed webhook is not processed twice."""

    __tablename__ = "sms_inbound"

    message_sid = Column(String(64), primary_key=True)
    received_at = Column(DateTime, nullable=False, default=utcnow, index=True)


__all__ += ["EscalationMessage", "SmsInbound"]


class StaffMessage(Base):
    """A message from the clinic to the person during a takeover (bot/staff/takeover.py).

    `kind` is `joined` (staff took the conversation), `staff` (written by staff)
    or `handed_back` (the assistant answers again). The widget and REST clients
    poll these rows by id; an SMS conversation also gets each one by text.
    """

    __tablename__ = "staff_messages"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False)
    kind = Column(String(20), nullable=False)
    text = Column(Text, nullable=False)
    staff_name = Column(String(60), nullable=False)
    staff_email = Column(String(320), nullable=False)
    channel = Column(String(40))
    created_at = Column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (Index("ix_staff_messages_conversation", "conversation_id", "id"),)


__all__ += ["SmsContact", "SmsOptOut", "StaffMessage"]
