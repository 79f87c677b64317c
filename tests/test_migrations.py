"""Alembic migrations create exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

import bot.store.models  # noqa: F401
from bot.store.db import Base, init_db
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


def test_sqlite(tmp_path: Path) -> None:
    assert_schema_matches_models(f"sqlite:///{tmp_path / 'migrated.db'}")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


def test_postgresql(postgres_url: str) -> None:
    assert_schema_matches_models(postgres_url)
    init_db(postgres_url)  # running again is a no-op
