"""What the console shows: queues, audit trail, transcripts, lead export, content.

Plain functions over a SQLAlchemy session so they can be tested and reused
without Flask. Rasa's `events` table is read with SQLAlchemy Core on its own
MetaData: Rasa creates and owns it, `init_db` must never touch it.
"""

from __future__ import annotations

import csv
import io
import json
import re
import string
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, func, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from bot.store.models import (
    ContentItem,
    Escalation,
    Handoff,
    Lead,
    StatusChange,
    UnansweredQuestion,
    utcnow,
)

STATUSES = ("new", "contacted", "resolved")
OPEN_STATUSES = ("new", "contacted")
KINDS: dict[str, Any] = {"escalation": Escalation, "handoff": Handoff, "lead": Lead}
REVIEW_DUE_SOON_DAYS = 30
TRANSCRIPT_LIMIT = 2000

_rasa_metadata = MetaData()
events_table = Table(
    "events",
    _rasa_metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


def to_local(moment: datetime | None, tz: str) -> datetime | None:
    """Naive UTC (as stored) to the clinic's time zone: staff think in local time."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz))


def age_text(moment: datetime, now: datetime | None = None) -> str:
    """ "4 min ago": how long a person has been waiting, at a glance."""
    seconds = max(int(((now or utcnow()) - moment).total_seconds()), 0)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        hours, minutes = divmod(seconds // 60, 60)
        return f"{hours} h {minutes} min ago"
    return f"{seconds // 86400} d ago"


def queue(
    session: Session, kind: str, *, status: str = "open", channel: str = "", limit: int = 500
) -> list[Any]:
    """Items of one queue, newest first, filtered by status (or "open"/"all") and channel."""
    model = KINDS[kind]
    query = select(model).order_by(model.created_at.desc(), model.id.desc()).limit(limit)
    if status == "open":
        query = query.where(model.status.in_(OPEN_STATUSES))
    elif status in STATUSES:
        query = query.where(model.status == status)
    if channel:
        query = query.where(model.channel == channel)
    return list(session.scalars(query))


def channels(session: Session, kind: str) -> list[str]:
    """Channels that occur in a queue, for the filter's choices."""
    model = KINDS[kind]
    rows = session.scalars(select(model.channel).where(model.channel.is_not(None)).distinct())
    return sorted(rows)


def open_counts(session: Session) -> dict[str, dict[str, int]]:
    """{kind: {status: n}} of open items (the summary and the navigation badges)."""
    counts: dict[str, dict[str, int]] = {}
    for kind, model in KINDS.items():
        rows = session.execute(
            select(model.status, func.count())
            .where(model.status.in_(OPEN_STATUSES))
            .group_by(model.status)
        )
        counts[kind] = {status: 0 for status in OPEN_STATUSES} | dict(rows.all())
    return counts


def change_status(
    session: Session,
    kind: str,
    item_id: int,
    new_status: str,
    *,
    user_id: int,
    user_email: str,
    note: str | None = None,
) -> StatusChange | None:
    """Set an item's status and write the audit row in the same transaction."""
    if new_status not in STATUSES:
        raise ValueError(f"unknown status {new_status!r}")
    item = session.get(KINDS[kind], item_id)
    if item is None:
        raise LookupError(f"{kind} {item_id} not found")
    if item.status == new_status and not note:
        return None
    change = StatusChange(
        item_kind=kind,
        item_id=item_id,
        old_status=item.status,
        new_status=new_status,
        note=note or None,
        changed_by_id=user_id,
        changed_by_email=user_email,
    )
    item.status = new_status
    session.add(change)
    session.flush()
    return change


def audit_trail(session: Session, kind: str, item_id: int) -> list[StatusChange]:
    query = (
        select(StatusChange)
        .where(StatusChange.item_kind == kind, StatusChange.item_id == item_id)
        .order_by(StatusChange.changed_at.desc(), StatusChange.id.desc())
    )
    return list(session.scalars(query))


def related_items(session: Session, conversation_id: str) -> list[tuple[str, Any]]:
    """Every escalation, handoff and lead of one conversation, crisis first."""
    found: list[tuple[str, Any]] = []
    for kind, model in KINDS.items():
        query = select(model).where(model.conversation_id == conversation_id)
        found += [(kind, item) for item in session.scalars(query.order_by(model.id))]
    return found


@dataclass
class TranscriptLine:
    speaker: str  # "user" | "bot"
    text: str
    at: datetime  # naive UTC
    intent: str | None = None
    channel: str | None = None
    custom: dict[str, Any] = field(default_factory=dict)

    @property
    def content_id(self) -> str | None:
        if self.custom.get("type") == "faq":
            return self.custom.get("content_id")
        return None

    @property
    def kind(self) -> str | None:
        return self.custom.get("type")


def transcript(session: Session, conversation_id: str) -> list[TranscriptLine] | None:
    """User and bot messages of a conversation from Rasa's tracker store.

    None when the tracker store table does not exist (yet): Rasa creates it
    on its first start, which can come after the console's.
    """
    query = (
        select(events_table.c.type_name, events_table.c.timestamp, events_table.c.data)
        .where(
            events_table.c.sender_id == conversation_id,
            events_table.c.type_name.in_(("user", "bot")),
        )
        .order_by(events_table.c.id)
        .limit(TRANSCRIPT_LIMIT)
    )
    try:
        # Own connection: a missing table must not roll back (and expire) the session.
        with session.get_bind().connect() as connection:
            rows = connection.execute(query).all()
    except (OperationalError, ProgrammingError):
        return None
    lines = []
    for type_name, timestamp, raw in rows:
        try:
            data = json.loads(raw or "{}")
        except ValueError:
            data = {}
        at = datetime.fromtimestamp(timestamp or 0, tz=timezone.utc).replace(tzinfo=None)
        if type_name == "user":
            parse = data.get("parse_data") or {}
            lines.append(
                TranscriptLine(
                    speaker="user",
                    text=data.get("text") or "",
                    at=at,
                    intent=(parse.get("intent") or {}).get("name"),
                    channel=data.get("input_channel"),
                )
            )
        else:
            custom = (data.get("data") or {}).get("custom")
            lines.append(
                TranscriptLine(
                    speaker="bot",
                    text=data.get("text") or "",
                    at=at,
                    custom=custom if isinstance(custom, dict) else {},
                )
            )
    return lines


def local_day_bounds(start: date | None, end: date | None, tz: str) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in the clinic's time zone, as naive UTC for the query."""
    zone = ZoneInfo(tz)
    start = start or date(1970, 1, 1)
    end = end or date(9998, 12, 31)

    def utc(day: date) -> datetime:
        local = datetime(day.year, day.month, day.day, tzinfo=zone)
        return local.astimezone(timezone.utc).replace(tzinfo=None)

    return utc(start), utc(end + timedelta(days=1))


LEAD_CSV_COLUMNS = [
    "lead_id",
    "created_at",
    "updated_at",
    "name",
    "phone_e164",
    "email",
    "preferred_contact_time",
    "channel",
    "status",
    "consent",
    "consent_text",
    "submissions",
    "conversation_id",
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str | None) -> str:
    """Free text that a spreadsheet would run as a formula gets a leading quote."""
    text = value or ""
    return "'" + text if text.startswith(_FORMULA_START) else text


def leads_csv(session: Session, start: date | None, end: date | None, tz: str) -> str:
    """Leads created between two local dates (inclusive) as CSV for the clinic's CRM."""
    low, high = local_day_bounds(start, end, tz)
    query = (
        select(Lead)
        .where(Lead.created_at >= low, Lead.created_at < high)
        .order_by(Lead.created_at, Lead.id)
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(LEAD_CSV_COLUMNS)
    for lead in session.scalars(query):
        writer.writerow(
            [
                lead.id,
                to_local(lead.created_at, tz).isoformat(timespec="seconds"),
                to_local(lead.updated_at, tz).isoformat(timespec="seconds"),
                _cell(lead.name),
                lead.phone_e164,  # validated E.164: its "+" is data, not a formula
                _cell(lead.email),
                _cell(lead.contact_time),
                lead.channel or "",
                lead.status,
                "yes" if lead.consent else "no",
                _cell(lead.consent_text),
                lead.submissions,
                _cell(lead.conversation_id),
            ]
        )
    return out.getvalue()


@dataclass
class ContentRow:
    item: ContentItem
    due_on: date
    state: str  # "overdue" | "due soon" | "ok"


def content_overview(session: Session, max_age_days: int, today: date) -> list[ContentRow]:
    """Latest version of each content item, those needing review first."""
    latest = (
        select(ContentItem.content_id, func.max(ContentItem.version).label("version"))
        .group_by(ContentItem.content_id)
        .subquery()
    )
    query = select(ContentItem).join(
        latest,
        (ContentItem.content_id == latest.c.content_id) & (ContentItem.version == latest.c.version),
    )
    rows = []
    for item in session.scalars(query):
        due_on = item.reviewed_on + timedelta(days=max_age_days)
        if due_on < today:
            state = "overdue"
        elif due_on <= today + timedelta(days=REVIEW_DUE_SOON_DAYS):
            state = "due soon"
        else:
            state = "ok"
        rows.append(ContentRow(item, due_on, state))
    order = {"overdue": 0, "due soon": 1, "ok": 2}
    return sorted(rows, key=lambda r: (order[r.state], r.due_on, r.item.content_id))


_PUNCTUATION = re.compile(f"[{re.escape(string.punctuation)}’‘“”]+")


def normalise_question(text: str) -> str:
    """Lower-case, no punctuation, single spaces: "Is it SAFE??" groups with "is it safe"."""
    return " ".join(_PUNCTUATION.sub(" ", text.lower()).split())


@dataclass
class QuestionGroup:
    normalised: str
    count: int
    example: str
    last_asked: datetime
    channels: list[str]


def unanswered_groups(session: Session, limit: int = 100, scan: int = 20000) -> list[QuestionGroup]:
    """Questions the bot could not answer, grouped, most frequent first.

    Grouped in Python so the normalisation is the same on SQLite and
    PostgreSQL; only the most recent `scan` rows are considered.
    """
    query = (
        select(UnansweredQuestion.text, UnansweredQuestion.channel, UnansweredQuestion.created_at)
        .order_by(UnansweredQuestion.created_at.desc())
        .limit(scan)
    )
    groups: dict[str, dict[str, Any]] = {}
    for text, channel, created_at in session.execute(query):
        key = normalise_question(text)
        if not key:
            continue
        group = groups.setdefault(
            key, {"texts": Counter(), "last": created_at, "channels": set(), "n": 0}
        )
        group["n"] += 1
        group["texts"][text.strip()] += 1
        group["last"] = max(group["last"], created_at)
        if channel:
            group["channels"].add(channel)
    result = [
        QuestionGroup(
            normalised=key,
            count=g["n"],
            example=g["texts"].most_common(1)[0][0],
            last_asked=g["last"],
            channels=sorted(g["channels"]),
        )
        for key, g in groups.items()
    ]
    result.sort(key=lambda g: (-g.count, -g.last_asked.timestamp()))
    return result[:limit]
