"""Retention: delete conversations, leads and alerts older than the clinic's policy.

Conversations hold health information; keeping them forever is a liability.
`purge` deletes, in one transaction:

* whole conversations from Rasa's `events` table whose *last* event is older
  than the cut-off (deleting only the old events of a live conversation would
  corrupt its tracker); the table is reflected because Rasa creates it and it
  may not exist yet;
* leads, handoffs and escalations not updated since the cut-off, with their
  status history (and an escalation's crisis messages);
* delivered or cancelled alerts and SMS (pending ones are never deleted: the
  outbox promises that nothing is dropped);
* unanswered questions, the answers-served audit, SMS contact mappings and
  received SMS MessageSids.

SMS opt-outs, staff accounts and content are kept: they are not conversation
data, and forgetting an opt-out would text someone who said STOP.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import MetaData, Table, and_, delete, func, inspect, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from bot.store.db import get_engine
from bot.store.models import (
    Alert,
    AnswerServed,
    Escalation,
    EscalationMessage,
    Handoff,
    Lead,
    SmsContact,
    SmsInbound,
    StatusChange,
    UnansweredQuestion,
    utcnow,
)

FINISHED_ALERT_STATUSES = ("sent", "cancelled")
# StatusChange.item_kind for each table whose rows have a status history.
ITEM_KINDS = {"escalations": "escalation", "handoffs": "handoff", "leads": "lead"}


@dataclass
class PurgeReport:
    """What was (or, with dry_run, would be) deleted, per table."""

    older_than_days: int
    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)
    conversations: int = 0
    events_table_found: bool = False

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def lines(self) -> list[str]:
        verb = "would delete" if self.dry_run else "deleted"
        out = [f"purge ({verb}) rows older than {self.older_than_days} days:"]
        for table, count in self.counts.items():
            suffix = f" ({self.conversations} conversations)" if table == "events" else ""
            out.append(f"  {table:<22} {count}{suffix}")
        if not self.events_table_found:
            out.append("  events                 - (no Rasa tracker table in this database)")
        out.append(f"  {'total':<22} {self.total}")
        return out


def _delete(conn: Connection, table: Table, where: ColumnElement, dry_run: bool) -> int:
    if dry_run:
        return conn.execute(select(func.count()).select_from(table).where(where)).scalar_one()
    return conn.execute(delete(table).where(where)).rowcount or 0


def _purge_events(conn: Connection, cutoff_epoch: float, report: PurgeReport) -> Table | None:
    """Whole conversations whose newest event is older than the cut-off; returns the table."""
    if not inspect(conn).has_table("events"):
        return None
    report.events_table_found = True
    events = Table("events", MetaData(), autoload_with=conn)
    stale = (
        select(events.c.sender_id)
        .group_by(events.c.sender_id)
        .having(func.max(events.c.timestamp) < cutoff_epoch)
    )
    report.conversations = conn.execute(
        select(func.count()).select_from(stale.subquery())
    ).scalar_one()
    report.counts["events"] = _delete(
        conn, events, events.c.sender_id.in_(stale.scalar_subquery()), report.dry_run
    )
    return events


def purge(older_than_days: int, *, dry_run: bool = False, url: str | None = None) -> PurgeReport:
    """Delete (or count, with dry_run) everything older than `older_than_days` days."""
    if older_than_days < 1:
        raise ValueError("--older-than must be at least 1 day")
    cutoff = utcnow() - timedelta(days=older_than_days)
    report = PurgeReport(older_than_days=older_than_days, dry_run=dry_run)
    with get_engine(url).begin() as conn:
        cutoff_epoch = time.time() - older_than_days * 86400
        events = _purge_events(conn, cutoff_epoch, report)
        for model in (Escalation, Handoff, Lead):
            table = model.__table__
            where = table.c.updated_at < cutoff
            ids = select(table.c.id).where(where).scalar_subquery()
            history = StatusChange.__table__
            report.counts["status_changes"] = report.counts.get("status_changes", 0) + _delete(
                conn,
                history,
                and_(
                    history.c.item_kind == ITEM_KINDS[table.name],
                    history.c.item_id.in_(ids),
                ),
                dry_run,
            )
            if model is Escalation:
                messages = EscalationMessage.__table__
                report.counts[messages.name] = _delete(
                    conn, messages, messages.c.escalation_id.in_(ids), dry_run
                )
            report.counts[table.name] = _delete(conn, table, where, dry_run)
        alerts = Alert.__table__
        report.counts["alerts"] = _delete(
            conn,
            alerts,
            and_(
                alerts.c.status.in_(FINISHED_ALERT_STATUSES),
                or_(
                    alerts.c.sent_at < cutoff,
                    and_(alerts.c.sent_at.is_(None), alerts.c.created_at < cutoff),
                ),
            ),
            dry_run,
        )
        for model, column in (
            (UnansweredQuestion, "created_at"),
            (AnswerServed, "served_at"),
            (SmsInbound, "received_at"),
        ):
            table = model.__table__
            report.counts[table.name] = _delete(conn, table, table.c[column] < cutoff, dry_run)
        # The number of an SMS conversation: kept while that conversation is active
        # (the row is not rewritten on every message, so its own age is not enough).
        contacts = SmsContact.__table__
        stale_contact = contacts.c.updated_at < cutoff
        if events is not None:
            active = select(events.c.sender_id).where(events.c.timestamp >= cutoff_epoch)
            stale_contact = and_(stale_contact, contacts.c.conversation_id.not_in(active))
        report.counts[contacts.name] = _delete(conn, contacts, stale_contact, dry_run)
    return report
