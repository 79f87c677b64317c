"""ClinicTrackerStore returns exactly what Rasa's SQLTrackerStore returns,
including rows written by another replica, after a purge and across sessions."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.store.tracker_store import ClinicTrackerStore
from tests.conftest import postgres_database

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet]
slots:
  crisis_flagged:
    type: bool
    initial_value: false
    mappings: [{type: custom}]
responses:
  utter_greet: [{text: hi}]
"""
)


def turn(text: str, stamp: float) -> list[Event]:
    return [
        UserUttered(text, {"name": "greet", "confidence": 1.0}, timestamp=stamp),
        ActionExecuted("utter_greet", timestamp=stamp + 0.1),
        BotUttered("hi", timestamp=stamp + 0.2),
        ActionExecuted("action_listen", timestamp=stamp + 0.3),
    ]


def dicts(tracker: DialogueStateTracker | None) -> list[dict]:
    assert tracker is not None
    return [event.as_dict() for event in tracker.events]


async def append(store: SQLTrackerStore, sender: str, events: list[Event]) -> None:
    tracker = await store.retrieve(sender) or DialogueStateTracker(sender, DOMAIN.slots)
    for event in events:
        tracker.update(event, DOMAIN)
    await store.save(tracker)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'trackers.db'}"
    else:
        with postgres_database() as database_url:
            yield database_url


def test_same_trackers_as_rasa_across_replicas_purge_and_sessions(url: str) -> None:
    async def scenario() -> None:
        ours = ClinicTrackerStore(domain=DOMAIN, host=url)
        replica = ClinicTrackerStore(domain=DOMAIN, host=url)
        rasa = SQLTrackerStore(domain=DOMAIN, host=url)

        await append(ours, "a", [ActionExecuted("action_listen", timestamp=1.0), *turn("hi", 2)])
        assert dicts(await ours.retrieve("a")) == dicts(await rasa.retrieve("a"))

        # Another replica answers the next message: its rows must be seen.
        await append(replica, "a", [*turn("again", 3), SlotSet("crisis_flagged", True, 3.5)])
        from_ours = await ours.retrieve("a")
        assert dicts(from_ours) == dicts(await rasa.retrieve("a"))
        assert from_ours.get_slot("crisis_flagged") is True
        assert len(from_ours.events) == 10

        # A new session: only its events come back, as with Rasa's store.
        await append(ours, "a", [SessionStarted(timestamp=10.0), *turn("new day", 11)])
        assert dicts(await ours.retrieve("a")) == dicts(await rasa.retrieve("a"))
        assert len((await ours.retrieve("a")).events) == 5
        full = await ours.retrieve_full_tracker("a")
        assert dicts(full) == dicts(await rasa.retrieve_full_tracker("a"))
        assert len(full.events) == 15

        # The retention purge deletes rows behind the cache's back.
        with rasa.engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM events WHERE sender_id = 'a'"))
        assert await ours.retrieve("a") is None
        await append(replica, "a", turn("back", 20))
        assert dicts(await ours.retrieve("a")) == dicts(await rasa.retrieve("a"))
        assert len((await ours.retrieve("a")).events) == 4

        assert await ours.retrieve("nobody") is None

    asyncio.run(scenario())
