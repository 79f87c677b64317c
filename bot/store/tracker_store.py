"""Rasa's SQL tracker store, without re-reading whole conversations every turn.

Rasa's `SQLTrackerStore` loads every event of the conversation session and
turns each JSON row back into an `Event` on every message; on a 20-message
conversation that was the largest single cost of a turn. This store runs the
same query, but for the row ids only, and keeps the `Event` objects it has
already seen (bounded, per conversation). Only rows it has not seen, such as
those written by another Rasa replica, are read and parsed. Because the id
query runs every time, rows deleted by the retention purge or written
elsewhere are never missed: the database stays the only source of truth.

It also turns on bot/store/tracker_states.py, which computes the policies'
dialogue states once per event instead of once per prediction.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.orm import sessionmaker

from bot.store import tracker_states
from bot.store.db import get_engine

CACHED_CONVERSATIONS = 2000


class ClinicTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` with a per-conversation cache of parsed events."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            # Rasa's SQLite engine connects anew for every session (NullPool);
            # the project's engine keeps connections open and uses WAL.
            self.engine = get_engine(self.engine.url.render_as_string(hide_password=False))
            self.sessionmaker = sessionmaker(bind=self.engine)
        self._events: OrderedDict[str, dict[tuple[int, float], Event]] = OrderedDict()
        # The policies' states of the history, computed once per event: relies on
        # this store handing out the same Event objects every turn.
        tracker_states.install()

    def _cached(self, sender_id: str) -> dict[tuple[int, float], Event]:
        events = self._events.pop(sender_id, None) or {}
        self._events[sender_id] = events  # most recently used last
        while len(self._events) > CACHED_CONVERSATIONS:
            self._events.popitem(last=False)
        return events

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        with self.session_scope() as session:
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions)
            # (id, timestamp) names a row even if SQLite reuses an id after a purge.
            keys = list(query.with_entities(self.SQLEvent.id, self.SQLEvent.timestamp))
            cached = self._cached(sender_id)
            missing = [row_id for row_id, timestamp in keys if (row_id, timestamp) not in cached]
            if missing:
                rows = session.query(
                    self.SQLEvent.id, self.SQLEvent.timestamp, self.SQLEvent.data
                ).filter(self.SQLEvent.id.in_(missing))
                for row_id, timestamp, data in rows:
                    cached[(row_id, timestamp)] = Event.from_parameters(json.loads(data))
        if not keys or not self.domain:
            return None
        return DialogueStateTracker.from_events(
            sender_id, [cached[(row_id, ts)] for row_id, ts in keys], self.domain.slots
        )

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's save (only events not stored yet), remembering the new rows' events."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            added = []
            for event in self._additional_events(session, tracker):
                data = event.as_dict()
                row = self.SQLEvent(
                    sender_id=tracker.sender_id,
                    type_name=event.type_name,
                    timestamp=data.get("timestamp"),
                    intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                    action_name=data.get("name"),
                    data=json.dumps(data),
                )
                session.add(row)
                added.append((row, event))
            session.flush()  # assigns the ids (read before commit expires the rows)
            keys = [(row.id, row.timestamp) for row, _ in added]
            session.commit()
        cached = self._cached(tracker.sender_id)
        for key, (_, event) in zip(keys, added, strict=True):
            cached[key] = event
