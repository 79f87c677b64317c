"""Database engine and sessions (SQLAlchemy 1.4, 2.0-style), created lazily."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, declarative_base, sessionmaker
from sqlalchemy.pool import QueuePool

from bot.config import get_settings

Base = declarative_base()


@cache
def get_engine(url: str | None = None) -> Engine:
    """One engine per database URL for this process."""
    url = url or get_settings().database_url
    parsed = make_url(url)
    kwargs: dict = {"future": True, "pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        # SQLAlchemy 1.4 opens and closes a new SQLite connection per session
        # (NullPool) by default; keeping a few open saves ~1 ms per session.
        kwargs["poolclass"] = QueuePool
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        # Rasa and the action server write the same file: WAL lets readers
        # and one writer work at once, and foreign keys are off by default.
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine


@cache
def _session_factory(url: str) -> sessionmaker:
    return sessionmaker(bind=get_engine(url), future=True, expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A transaction: committed on success, rolled back on any error."""
    session: Session = _session_factory(url or get_settings().database_url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str | None = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    from bot.config import PROJECT_ROOT

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url or get_settings().database_url)
    return config


def init_db(url: str | None = None) -> None:
    """Bring the project's tables up to date (Alembic migrations to `head`)."""
    from alembic import command

    get_engine(url)  # creates the SQLite folder if needed
    command.upgrade(alembic_config(url), "head")
