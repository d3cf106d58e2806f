"""Engines, sessions and schema upgrades.

Invariants:
    * Every SQLite connection runs in WAL mode with foreign keys on and a busy
      timeout, so the web tier and the runtime can share one file.
    * SQLite has one writer at a time, and its busy handler is not a queue: a
      writer that polls can lose the lock to a busier one again and again (the
      outbox relay starved behind the step loop). So the transactions of one
      process take a first-come, first-served turn (`FairTurn`) before BEGIN
      IMMEDIATE; other processes still meet the busy timeout.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import pool
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
TURN_TIMEOUT = 30.0  # as SQLite's busy timeout: past it, go on and let SQLite decide


class FairTurn:
    """A first-come, first-served lock, re-entrant per thread, whose waits are bounded."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()
        self._owner: int | None = None
        self._depth = 0

    def acquire(self, timeout: float = TURN_TIMEOUT) -> bool:
        """Wait for this thread's turn (True), or give up after `timeout` seconds (False)."""
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return True
            ticket = object()
            self._queue.append(ticket)
            deadline = _monotonic() + timeout
            while not (self._owner is None and self._queue[0] is ticket):
                remaining = deadline - _monotonic()
                if remaining <= 0:
                    self._queue.remove(ticket)
                    self._cond.notify_all()
                    return False
                self._cond.wait(remaining)
            self._queue.popleft()
            self._owner, self._depth = me, 1
            return True

    def release(self) -> None:
        """End this thread's turn (once per acquire)."""
        with self._cond:
            if self._owner != threading.get_ident():
                return
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._cond.notify_all()


def _monotonic() -> float:
    import time

    return time.monotonic()


def default_data_dir() -> Path:
    """The per-user data folder (STAGECRAFT_DATA_DIR overrides it)."""
    configured = os.environ.get("STAGECRAFT_DATA_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "stagecraft"


def default_database_url() -> str:
    """STAGECRAFT_DATABASE_URL, or a SQLite file in the data folder."""
    url = os.environ.get("STAGECRAFT_DATABASE_URL")
    if url:
        return url
    data_dir = default_data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'stagecraft.db'}"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs.setdefault("poolclass", pool.StaticPool)
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Autocommit off in the driver, BEGIN issued by us: SQLAlchemy 2 style.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
            # Python's lower case (SQLite's lower() folds ASCII only): segments compare text with it.
            dbapi_conn.create_function("sc_lower", 1, _lower, deterministic=True)

        turn = FairTurn()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Our process's writers queue in order (FairTurn); IMMEDIATE then takes the write lock up
            # front, so writers of other processes wait on busy_timeout instead of failing mid-way.
            conn.info["stagecraft_turn"] = turn.acquire()
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                _end_turn(conn)
                raise

        def _end_turn(conn: Any) -> None:
            if conn.info.pop("stagecraft_turn", False):
                turn.release()

        event.listen(engine, "commit", _end_turn)
        event.listen(engine, "rollback", _end_turn)

        @event.listens_for(engine.pool, "checkin")
        def _checkin(_dbapi_conn: Any, record: Any) -> None:  # a transaction that ended any other way
            if record is not None and record.info.pop("stagecraft_turn", False):
                turn.release()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Open a session, commit on success, roll back on error, always close."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(engine: Engine) -> Any:
    """An Alembic Config pointing at our migrations and this engine."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)
