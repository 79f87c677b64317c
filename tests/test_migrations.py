"""Alembic migrations create exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text

import bot.store.models  # noqa: F401
from bot.store.db import Base, alembic_config, init_db
from bot.store.models import ContentItem
from tests.conftest import postgres_database


def assert_schema_matches_models(url: str) -> None:
    init_db(url)
    engine = create_engine(url, future=True)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        diff = [
            change
            for change in compare_metadata(context, Base.metadata)
            # Rasa's own table lives in the same database and is not ours.
            if not (change[0] == "remove_table" and change[1].name == "events")
        ]
    assert diff == [], diff
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables and "alembic_version" in tables
    engine.dispose()


def assert_buttons_migration_keeps_content(url: str) -> None:
    """0007 gives content loaded before it no buttons (valid rows), and its downgrade
    drops only the column."""
    config = alembic_config(url)
    command.upgrade(config, "0006_staff_messages")
    engine = create_engine(url, future=True)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO content_items (content_id, version, topic, title, status,"
                " reviewed_by, reviewed_on, sources, answer_web, answer_sms, loaded_at)"
                " VALUES ('side_effects_common', 1, 'side_effects', 'Common side effects',"
                " 'approved', 'MD', '2026-11-20', '[\"a source\"]', 'web', 'sms',"
                " '2026-11-20 12:00:00')"
            )
        )

    def columns() -> set[str]:
        return {c["name"] for c in inspect(engine).get_columns("content_items")}

    command.upgrade(config, "0007_content_buttons")
    assert "buttons" in columns()
    with engine.connect() as connection:
        assert connection.execute(select(ContentItem.buttons)).scalars().all() == [[]]
    command.downgrade(config, "0006_staff_messages")
    assert "buttons" not in columns()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT content_id FROM content_items")).all() == [
            ("side_effects_common",)
        ]
    command.upgrade(config, "head")
    assert "buttons" in columns()
    engine.dispose()


def test_sqlite(tmp_path: Path) -> None:
    assert_schema_matches_models(f"sqlite:///{tmp_path / 'migrated.db'}")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


def test_sqlite_content_buttons_upgrade_and_downgrade(tmp_path: Path) -> None:
    assert_buttons_migration_keeps_content(f"sqlite:///{tmp_path / 'buttons.db'}")


def test_postgresql(postgres_url: str) -> None:
    assert_schema_matches_models(postgres_url)
    init_db(postgres_url)  # running again is a no-op


def test_postgresql_content_buttons_upgrade_and_downgrade(postgres_url: str) -> None:
    assert_buttons_migration_keeps_content(postgres_url)
