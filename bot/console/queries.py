"""What the console shows: inbox, queues, audit trail, transcripts, lead export, content.

Plain functions over a SQLAlchemy session so they can be tested and reused
without Flask. Rasa's `events` table is read with SQLAlchemy Core on its own
MetaData: Rasa creates and owns it, `init_db` must never touch it.

Notes and assignment live in the `status_changes` audit trail (no extra
columns): a note is a row whose old and new status are the same; "Take it"
writes a row with `old_status` ASSIGN ("assign") and "Release" one with
RELEASE ("release"), `new_status` being the item's status at that moment and
`changed_by_*` the staff member. An item is assigned to whoever wrote its
latest ASSIGN row, unless a RELEASE row came after it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import string
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import (
    Integer,
    String,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from bot.store.models import (
    ContentItem,
    Escalation,
    Handoff,
    Lead,
    SmsContact,
    StatusChange,
    UnansweredQuestion,
    utcnow,
)
from bot.store.rasa_events import events_table

STATUSES = ("new", "contacted", "resolved")
OPEN_STATUSES = ("new", "contacted")
KINDS: dict[str, Any] = {"escalation": Escalation, "handoff": Handoff, "lead": Lead}
REVIEW_DUE_SOON_DAYS = 30
TRANSCRIPT_LIMIT = 2000


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


def wait_text(moment: datetime, now: datetime | None = None) -> str:
    """ "2 h 5 min", "3 d 4 h": how long an item has waited."""
    seconds = max(int(((now or utcnow()) - moment).total_seconds()), 0)
    if seconds >= 86400:
        days, rest = divmod(seconds, 86400)
        return f"{days} d {rest // 3600} h"
    text = age_text(moment, now)
    return "under a minute" if text == "just now" else text.removesuffix(" ago")


def _queue_filter(query: Any, model: Any, status: str, channel: str) -> Any:
    if status == "open":
        query = query.where(model.status.in_(OPEN_STATUSES))
    elif status in STATUSES:
        query = query.where(model.status == status)
    if channel:
        query = query.where(model.channel == channel)
    return query


def queue(
    session: Session,
    kind: str,
    *,
    status: str = "open",
    channel: str = "",
    limit: int = 500,
    offset: int = 0,
) -> list[Any]:
    """Items of one queue, newest first, filtered by status (or "open"/"all") and channel."""
    model = KINDS[kind]
    query = select(model).order_by(model.created_at.desc(), model.id.desc())
    query = _queue_filter(query, model, status, channel).limit(limit).offset(offset)
    return list(session.scalars(query))


def queue_count(session: Session, kind: str, *, status: str = "open", channel: str = "") -> int:
    """How many items `queue` would list without a limit."""
    model = KINDS[kind]
    query = _queue_filter(select(func.count()).select_from(model), model, status, channel)
    return session.scalar(query) or 0


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
    if item.status == new_status:
        return add_note(session, kind, item_id, note or "", user_id=user_id, user_email=user_email)
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
    speaker: str  # "user" | "bot" | "staff" (a bot event written by staff: custom.type staff)
    text: str
    at: datetime  # naive UTC
    intent: str | None = None
    channel: str | None = None
    custom: dict[str, Any] = field(default_factory=dict)
    event_id: int = 0  # the tracker row: the live view's cursor

    @property
    def content_id(self) -> str | None:
        if self.custom.get("type") == "faq":
            return self.custom.get("content_id")
        return None

    @property
    def kind(self) -> str | None:
        return self.custom.get("type")

    @property
    def who(self) -> str:
        if self.speaker == "user":
            return "Person"
        if self.speaker == "staff":
            return f"Clinic staff · {self.custom.get('staff_name') or 'staff'}"
        return "Bot"


def transcript(
    session: Session, conversation_id: str, after: int = 0
) -> list[TranscriptLine] | None:
    """User and bot messages of a conversation from Rasa's tracker store (rows
    after the event id `after`).

    None when the tracker store table does not exist (yet): Rasa creates it
    on its first start, which can come after the console's.
    """
    query = (
        select(
            events_table.c.id,
            events_table.c.type_name,
            events_table.c.timestamp,
            events_table.c.data,
        )
        .where(
            events_table.c.sender_id == conversation_id,
            events_table.c.type_name.in_(("user", "bot")),
            events_table.c.id > after,
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
    for event_id, type_name, timestamp, raw in rows:
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
                    event_id=event_id,
                )
            )
        else:
            custom = (data.get("data") or {}).get("custom")
            custom = custom if isinstance(custom, dict) else {}
            lines.append(
                TranscriptLine(
                    speaker="staff" if custom.get("type") == "staff" else "bot",
                    text=data.get("text") or "",
                    at=at,
                    custom=custom,
                    event_id=event_id,
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
# Unanswered-question rows that record choices offered: "did you mean" offers and
# picks of another item from under an answer (bot/answers/suggestions.py).
OFFER_KINDS = ("suggestions", "related")


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
    offered: int = 0  # times "did you mean" choices were offered for it
    picked: list[tuple[str, int]] = field(default_factory=list)  # (content id or "none", times)


def unanswered_groups(session: Session, limit: int = 100, scan: int = 20000) -> list[QuestionGroup]:
    """Questions the bot could not answer, grouped, most frequent first.

    Grouped in Python so the normalisation is the same on SQLite and
    PostgreSQL; only the most recent `scan` rows are considered.
    """
    query = (
        select(
            UnansweredQuestion.text,
            UnansweredQuestion.channel,
            UnansweredQuestion.created_at,
            UnansweredQuestion.kind,
            UnansweredQuestion.chosen,
        )
        .order_by(UnansweredQuestion.created_at.desc())
        .limit(scan)
    )
    groups: dict[str, dict[str, Any]] = {}
    for text, channel, created_at, kind, chosen in session.execute(query):
        key = normalise_question(text)
        if not key:
            continue
        group = groups.setdefault(
            key,
            {
                "texts": Counter(),
                "last": created_at,
                "channels": set(),
                "n": 0,
                "offered": 0,
                "picked": Counter(),
            },
        )
        if kind in OFFER_KINDS:
            group["offered"] += 1
            if chosen is not None:
                group["picked"][chosen or "none"] += 1
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
            offered=g["offered"],
            picked=g["picked"].most_common(),
        )
        for key, g in groups.items()
    ]
    result.sort(key=lambda g: (-g.count, -g.last_asked.timestamp()))
    return result[:limit]


# --- Inbox: one list of open work, notes and assignment -----------------------------

PAGE_SIZE = 25
KIND_RANK = {"escalation": 0, "handoff": 1, "lead": 2}  # crisis first, then handoffs, leads
ASSIGN = "assign"  # StatusChange.old_status of a "Take it" row
RELEASE = "release"  # ... and of a "Release" row
ASSIGNMENT_MARKS = (ASSIGN, RELEASE)
INBOX_ORDERS = ("waiting", "newest")  # longest waiting first | newest first (within a kind)
ASSIGNED_FILTERS = ("", "me", "none")
_PHONE_CHARS = re.compile(r"^[\d\s()+.\-/]+$")


class AssignmentConflict(Exception):
    """Someone else took (or released) the item since the page was shown."""

    def __init__(self, assignee_email: str | None) -> None:
        super().__init__(assignee_email or "nobody")
        self.assignee_email = assignee_email


def add_note(
    session: Session, kind: str, item_id: int, note: str, *, user_id: int, user_email: str
) -> StatusChange:
    """A note in the item's history; its status stays as it is."""
    note = note.strip()
    if not note:
        raise ValueError("empty note")
    item = session.get(KINDS[kind], item_id)
    if item is None:
        raise LookupError(f"{kind} {item_id} not found")
    change = StatusChange(
        item_kind=kind,
        item_id=item_id,
        old_status=item.status,
        new_status=item.status,
        note=note[:500],
        changed_by_id=user_id,
        changed_by_email=user_email,
    )
    session.add(change)
    session.flush()
    return change


def _assignments() -> Any:
    """(kind, item_id, assignee_id, assignee_email, assigned_at) of assigned items."""
    latest = (
        select(
            StatusChange.item_kind.label("kind"),
            StatusChange.item_id.label("item_id"),
            func.max(StatusChange.id).label("last_id"),
        )
        .where(StatusChange.old_status.in_(ASSIGNMENT_MARKS))
        .group_by(StatusChange.item_kind, StatusChange.item_id)
        .subquery()
    )
    return (
        select(
            latest.c.kind,
            latest.c.item_id,
            StatusChange.changed_by_id.label("assignee_id"),
            StatusChange.changed_by_email.label("assignee_email"),
            StatusChange.changed_at.label("assigned_at"),
        )
        .join(StatusChange, StatusChange.id == latest.c.last_id)
        .where(StatusChange.old_status == ASSIGN)
        .subquery()
    )


@dataclass(frozen=True)
class Assignee:
    user_id: int | None
    email: str
    since: datetime


def current_assignee(session: Session, kind: str, item_id: int) -> Assignee | None:
    row = session.execute(
        select(StatusChange)
        .where(
            StatusChange.item_kind == kind,
            StatusChange.item_id == item_id,
            StatusChange.old_status.in_(ASSIGNMENT_MARKS),
        )
        .order_by(StatusChange.id.desc())
        .limit(1)
    ).scalar()
    if row is None or row.old_status != ASSIGN:
        return None
    return Assignee(row.changed_by_id, row.changed_by_email, row.changed_at)


def assign(
    session: Session,
    kind: str,
    item_id: int,
    *,
    take: bool,
    user_id: int,
    user_email: str,
    expected: int | None | str = "any",
) -> StatusChange | None:
    """Take an item (assign it to this staff member) or release it.

    `expected` is the assignee id the page showed (None: nobody); if someone
    else took or released it since, AssignmentConflict is raised and nothing
    changes, so two people pressing "Take it" at once do not silently swap it.
    None is returned when nothing needs to change (already yours / not assigned).
    """
    item = session.get(KINDS[kind], item_id)
    if item is None:
        raise LookupError(f"{kind} {item_id} not found")
    current = current_assignee(session, kind, item_id)
    current_id = current.user_id if current else None
    if take and current_id == user_id:
        return None
    if not take and current is None:
        return None
    if expected != "any" and expected != current_id:
        raise AssignmentConflict(current.email if current else None)
    change = StatusChange(
        item_kind=kind,
        item_id=item_id,
        old_status=ASSIGN if take else RELEASE,
        new_status=item.status,
        changed_by_id=user_id,
        changed_by_email=user_email,
    )
    session.add(change)
    session.flush()
    return change


def change_label(change: StatusChange) -> str:
    """What an audit row did, for the history table."""
    if change.old_status == ASSIGN:
        return "took it"
    if change.old_status == RELEASE:
        return "released it"
    if change.old_status == change.new_status:
        return "note"
    return f"{change.old_status} → {change.new_status}"


# Search -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PhoneQuery:
    e164: str | None = None  # a complete number, normalised
    digits: str | None = None  # only part of one ("5301"): matched as a substring


def phone_query(text: str, region: str = "US") -> PhoneQuery:
    """A search that looks like a phone number, in any format, normalised with phonenumbers."""
    text = text.strip()
    digits = re.sub(r"\D", "", text)
    if len(digits) < 4 or not _PHONE_CHARS.match(text):
        return PhoneQuery()
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        number = None
    if (
        number is not None
        and phonenumbers.is_possible_number_with_reason(number)
        == phonenumbers.ValidationResult.IS_POSSIBLE
    ):
        return PhoneQuery(
            e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        )
    return PhoneQuery(digits=digits)


def _contains(column: Any, text: str) -> Any:
    return func.lower(column).contains(text.lower(), autoescape=True)


def matching_conversations(text: str, region: str = "US") -> Any:
    """Conversation ids whose contact details (name, phone, email) match a search."""
    phone = phone_query(text, region)
    parts = [
        select(Lead.conversation_id).where(
            or_(_contains(Lead.name, text), _contains(Lead.email, text))
        )
    ]
    contact_models = (Escalation, Handoff)
    parts += [select(m.conversation_id).where(_contains(m.contact, text)) for m in contact_models]
    if phone.e164:
        national = phone.e164.lstrip("+")
        parts += [
            select(Lead.conversation_id).where(Lead.phone_e164 == phone.e164),
            select(SmsContact.conversation_id).where(SmsContact.phone_e164 == phone.e164),
        ]
        parts += [
            select(m.conversation_id).where(
                or_(m.contact.contains(phone.e164, autoescape=True), m.contact.contains(national))
            )
            for m in contact_models
        ]
    elif phone.digits:
        parts += [
            select(Lead.conversation_id).where(Lead.phone_e164.contains(phone.digits)),
            select(SmsContact.conversation_id).where(SmsContact.phone_e164.contains(phone.digits)),
        ]
        parts += [
            select(m.conversation_id).where(m.contact.contains(phone.digits))
            for m in contact_models
        ]
    return union_all(*parts)


def _search_clause(model: Any, text: str, region: str) -> Any:
    """Items whose conversation matches `text` by contact details, id or item number."""
    clauses = [
        model.conversation_id.in_(matching_conversations(text, region)),
        model.conversation_id == text,
    ]
    if len(text) >= 4:
        clauses.append(model.conversation_id.startswith(text, autoescape=True))
    number = text.lstrip("#")
    if text.startswith("#") and number.isdigit():
        clauses.append(model.id == int(number))
    return or_(*clauses)


# Listing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxFilter:
    kind: str = ""  # "" (all) | escalation | handoff | lead
    status: str = "open"  # open | new | contacted | resolved | all
    channel: str = ""
    assigned: str = ""  # "" (anyone or nobody) | me | none
    q: str = ""
    order: str = "waiting"

    @property
    def active(self) -> bool:
        """Anything narrower than "all open work"."""
        return bool(self.kind or self.status != "open" or self.channel or self.assigned or self.q)


@dataclass
class ContactDetail:
    kind: str  # name | for (booking for a relative) | phone | email | time | other
    value: str  # E.164 for a phone
    display: str
    sources: list[str]


@dataclass
class InboxItem:
    kind: str
    item: Any
    assignee: Assignee | None
    contacts: list[ContactDetail]
    last_note: StatusChange | None = None


@dataclass
class InboxPage:
    items: list[InboxItem]
    total: int  # items matching the filter
    by_kind: dict[str, int]  # matching items of each kind (without the kind filter)
    page: int
    pages: int
    per_page: int

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.page * self.per_page, self.total)


def _inbox_union(f: InboxFilter, user_id: int | None, region: str) -> Any:
    assigned = _assignments()
    selects = []
    for kind, model in KINDS.items():
        query = (
            select(
                literal(kind, String).label("kind"),
                literal(KIND_RANK[kind], Integer).label("kind_rank"),
                model.id.label("id"),
                case((model.status == "new", 0), else_=1).label("status_rank"),
                model.created_at.label("created_at"),
                assigned.c.assignee_id,
            )
            .select_from(model)
            .outerjoin(assigned, and_(assigned.c.kind == kind, assigned.c.item_id == model.id))
        )
        query = _queue_filter(query, model, f.status, f.channel)
        if f.assigned == "me":
            query = query.where(assigned.c.assignee_id == user_id)
        elif f.assigned == "none":
            query = query.where(assigned.c.assignee_id.is_(None))
        if f.q.strip():
            query = query.where(_search_clause(model, f.q.strip(), region))
        selects.append(query)
    return union_all(*selects).subquery("inbox")


def inbox(
    session: Session,
    f: InboxFilter,
    *,
    user_id: int | None,
    page: int = 1,
    per_page: int = PAGE_SIZE,
    region: str = "US",
) -> InboxPage:
    """One page of open work: crisis escalations, then handoffs, then leads.

    Within a kind, items not yet contacted come first, then the longest
    waiting (or the newest, `order="newest"`).
    """
    union = _inbox_union(f, user_id, region)
    by_kind = {kind: 0 for kind in KINDS} | dict(
        session.execute(select(union.c.kind, func.count()).group_by(union.c.kind)).all()
    )
    total = by_kind.get(f.kind, 0) if f.kind else sum(by_kind.values())
    pages = max(math.ceil(total / per_page), 1)
    page = min(max(page, 1), pages)
    when = union.c.created_at.desc() if f.order == "newest" else union.c.created_at.asc()
    tie = union.c.id.desc() if f.order == "newest" else union.c.id.asc()
    query = select(union.c.kind, union.c.id).order_by(
        union.c.kind_rank, union.c.status_rank, when, tie
    )
    if f.kind:
        query = query.where(union.c.kind == f.kind)
    keys = session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return InboxPage(
        items=load_items(session, [(k, i) for k, i in keys], region=region),
        total=total,
        by_kind=by_kind,
        page=page,
        pages=pages,
        per_page=per_page,
    )


def load_items(
    session: Session, keys: list[tuple[str, int]], *, region: str = "US"
) -> list[InboxItem]:
    """The rows, assignees, latest notes and contact details of (kind, id) keys, in order."""
    rows: dict[tuple[str, int], Any] = {}
    for kind, model in KINDS.items():
        ids = [item_id for k, item_id in keys if k == kind]
        if ids:
            rows |= {
                (kind, r.id): r for r in session.scalars(select(model).where(model.id.in_(ids)))
            }
    found = [key for key in keys if key in rows]
    assignees: dict[tuple[str, int], Assignee] = {}
    notes: dict[tuple[str, int], StatusChange] = {}
    if found:
        trail = session.scalars(
            select(StatusChange)
            .where(tuple_(StatusChange.item_kind, StatusChange.item_id).in_(found))
            .order_by(StatusChange.id)
        )
        for change in trail:
            key = (change.item_kind, change.item_id)
            if change.old_status == ASSIGN:
                assignees[key] = Assignee(
                    change.changed_by_id, change.changed_by_email, change.changed_at
                )
            elif change.old_status == RELEASE:
                assignees.pop(key, None)
            if change.note:
                notes[key] = change
    contacts = conversation_contacts(
        session, {rows[key].conversation_id for key in found}, region=region
    )
    return [
        InboxItem(
            kind=key[0],
            item=rows[key],
            assignee=assignees.get(key),
            contacts=contacts.get(rows[key].conversation_id, []),
            last_note=notes.get(key),
        )
        for key in found
    ]


def inbox_channels(session: Session) -> list[str]:
    found: set[str] = set()
    for kind in KINDS:
        found.update(channels(session, kind))
    return sorted(found)


# Contact details ----------------------------------------------------------------------


def _phone(raw: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_possible_number(number) else None


def conversation_contacts(
    session: Session, conversation_ids: set[str], *, region: str = "US"
) -> dict[str, list[ContactDetail]]:
    """Every contact detail given anywhere in each conversation, deduplicated.

    From its leads (name, phone, email, preferred time), the contact fields of its
    escalations and handoffs, and the sender's number of an SMS conversation.
    """
    if not conversation_ids:
        return {}
    ids = sorted(conversation_ids)
    given: list[tuple[str, str, str, str]] = []  # (conversation, kind, raw, source)
    for lead in session.scalars(
        select(Lead).where(Lead.conversation_id.in_(ids)).order_by(Lead.id)
    ):
        source = f"lead #{lead.id}"
        given.append((lead.conversation_id, "name", lead.name, source))
        given.append((lead.conversation_id, "phone", lead.phone_e164, source))
        if lead.email:
            given.append((lead.conversation_id, "email", lead.email, source))
        if lead.contact_time:
            given.append((lead.conversation_id, "time", lead.contact_time, source))
        booking_for = getattr(lead, "booking_for", None)
        if booking_for:
            given.append((lead.conversation_id, "for", booking_for, source))
    for kind, model in (("escalation", Escalation), ("handoff", Handoff)):
        query = select(model.conversation_id, model.id, model.contact).where(
            model.conversation_id.in_(ids), model.contact.is_not(None), model.contact != ""
        )
        for conversation_id, item_id, contact in session.execute(query.order_by(model.id)):
            given.append((conversation_id, "contact", contact, f"{kind} #{item_id}"))
    sms = select(SmsContact.conversation_id, SmsContact.phone_e164).where(
        SmsContact.conversation_id.in_(ids)
    )
    for conversation_id, phone in session.execute(sms):
        given.append((conversation_id, "phone", phone, "SMS sender"))

    result: dict[str, dict[tuple[str, str], ContactDetail]] = {}
    for conversation_id, kind, raw, source in given:
        raw = (raw or "").strip()
        if not raw:
            continue
        display = raw
        if kind == "contact":
            kind = "email" if "@" in raw else "phone" if _phone(raw, region) else "other"
        if kind == "phone":
            number = _phone(raw, region)
            if number is not None:
                raw = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                display = phonenumbers.format_number(
                    number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
                )
        key = (kind, raw.lower())
        details = result.setdefault(conversation_id, {})
        if key in details:
            if source not in details[key].sources:
                details[key].sources.append(source)
        else:
            details[key] = ContactDetail(kind, raw, display, [source])
    order = {"name": 0, "for": 1, "phone": 2, "email": 3, "time": 4, "other": 5}
    return {
        conversation_id: sorted(details.values(), key=lambda d: order[d.kind])
        for conversation_id, details in result.items()
    }


# Banner and arrivals ----------------------------------------------------------------


@dataclass
class CrisisBanner:
    open: int  # all open escalations (new + contacted), as on the overview
    new: int  # not contacted yet
    newest: list[Any]  # the newest few


def crisis_banner(session: Session, newest: int = 3) -> CrisisBanner:
    counts = open_counts_of(session, "escalation")
    rows = session.scalars(
        select(Escalation)
        .where(Escalation.status.in_(OPEN_STATUSES))
        .order_by(Escalation.created_at.desc(), Escalation.id.desc())
        .limit(newest)
    )
    return CrisisBanner(open=sum(counts.values()), new=counts["new"], newest=list(rows))


def open_counts_of(session: Session, kind: str) -> dict[str, int]:
    model = KINDS[kind]
    rows = session.execute(
        select(model.status, func.count())
        .where(model.status.in_(OPEN_STATUSES))
        .group_by(model.status)
    )
    return {status: 0 for status in OPEN_STATUSES} | dict(rows.all())


def latest_ids(session: Session) -> dict[str, int]:
    """The highest id of each kind: the page's baseline for "new since you looked"."""
    return {kind: session.scalar(select(func.max(m.id))) or 0 for kind, m in KINDS.items()}


def arrivals(session: Session, after: dict[str, int], since: datetime | None) -> dict[str, int]:
    """Open items that came in after the baseline ids, per kind, and crisis episodes
    (escalations already there) with a new message since `since` ("crisis_updates")."""
    result = {}
    for kind, model in KINDS.items():
        result[kind] = (
            session.scalar(
                select(func.count())
                .select_from(model)
                .where(model.id > after.get(kind, 0), model.status.in_(OPEN_STATUSES))
            )
            or 0
        )
    result["crisis_updates"] = 0
    if since is not None:
        result["crisis_updates"] = (
            session.scalar(
                select(func.count())
                .select_from(Escalation)
                .where(
                    Escalation.id <= after.get("escalation", 0),
                    Escalation.status.in_(OPEN_STATUSES),
                    Escalation.message_count > 1,
                    Escalation.last_message_at > since,
                )
            )
            or 0
        )
    return result


def oldest_new(session: Session, kind: str) -> datetime | None:
    model = KINDS[kind]
    return session.scalar(select(func.min(model.created_at)).where(model.status == "new"))


# Content ----------------------------------------------------------------------------


def sms_segments(text: str) -> int:
    """SMS parts a text needs (GSM-7: 160, or 153 when split; otherwise UCS-2: 70/67)."""
    gsm = all(ord(ch) < 128 for ch in text)
    single, part = (160, 153) if gsm else (70, 67)
    return 1 if len(text) <= single else math.ceil(len(text) / part)
