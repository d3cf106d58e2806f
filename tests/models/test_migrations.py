"""Alembic migrations: SQLite pragmas, idempotent upgrade, the migration matching the models (SQLite, PostgreSQL)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy import inspect
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from models import Base
from models.db import alembic_config
from models.db import make_engine
from models.db import upgrade

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_DATABASE = f"stagecraft_migrations_test_{os.getpid()}"


def head_revision(engine: Engine) -> str:
    """The newest revision in the migrations folder."""
    return str(ScriptDirectory.from_config(alembic_config(engine)).get_current_head())


def assert_matches_models(engine: Engine) -> None:
    """No autogenerate difference between the upgraded database and Base.metadata; `alembic check` passes."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "render_as_batch": engine.dialect.name == "sqlite"})
        assert compare_metadata(context, Base.metadata) == []
    command.check(alembic_config(engine))


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty SQLite file."""
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    yield engine
    engine.dispose()


def test_upgrade_on_an_empty_sqlite_file_gives_wal_and_foreign_keys(sqlite_engine: Engine, tmp_path: Path) -> None:
    """The file is in WAL mode (persistent) and engine connections enforce foreign keys."""
    upgrade(sqlite_engine)
    with sqlite3.connect(tmp_path / "m.db") as raw:  # a plain connection: no pragmas of ours
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() == 30000
    with pytest.raises(IntegrityError), sqlite_engine.begin() as conn:
        conn.execute(text("INSERT INTO stage (pipeline_id, number, name, target_days, probability) "
                          "VALUES (999, 1, 'orphan', 1, 1)"))


def test_upgrade_reaches_head_and_is_idempotent(sqlite_engine: Engine) -> None:
    """Every model table exists at head; a second upgrade changes nothing."""
    upgrade(sqlite_engine)
    upgrade(sqlite_engine)
    with sqlite_engine.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert version == head_revision(sqlite_engine)
    assert set(Base.metadata.tables) <= set(inspect(sqlite_engine).get_table_names())


def test_sqlite_schema_matches_the_models(sqlite_engine: Engine) -> None:
    """`alembic check`: the migration produces exactly what the models declare."""
    upgrade(sqlite_engine)
    assert_matches_models(sqlite_engine)


def test_downgrade_to_base_and_back(sqlite_engine: Engine) -> None:
    """The migration can be undone and redone."""
    upgrade(sqlite_engine)
    command.downgrade(alembic_config(sqlite_engine), "base")
    assert set(inspect(sqlite_engine).get_table_names()) <= {"alembic_version"}
    upgrade(sqlite_engine)
    assert_matches_models(sqlite_engine)


def _postgres_admin() -> Any:
    """An autocommit connection to the server's `postgres` database, or None when unreachable."""
    try:
        import psycopg

        return psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=2)
    except Exception:  # no server, no driver, no access: skip
        return None


@pytest.fixture
def postgres_engine() -> Iterator[Engine]:
    """An engine on a fresh database `stagecraft_migrations_test` (dropped afterwards)."""
    admin = _postgres_admin()
    if admin is None:
        pytest.skip(f"PostgreSQL is not reachable at {PG_SERVER}")
    with admin:
        admin.execute(f"DROP DATABASE IF EXISTS \"{PG_DATABASE}\" WITH (FORCE)")
        admin.execute(f"CREATE DATABASE \"{PG_DATABASE}\"")
        engine = make_engine(f"{PG_SERVER}/{PG_DATABASE}")
        try:
            yield engine
        finally:
            engine.dispose()
            admin.execute(f"DROP DATABASE IF EXISTS \"{PG_DATABASE}\" WITH (FORCE)")


@pytest.mark.postgres
def test_postgres_schema_matches_the_models(postgres_engine: Engine) -> None:
    """On PostgreSQL the migration upgrades, matches the models, downgrades and upgrades again."""
    upgrade(postgres_engine)
    with postgres_engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head_revision(
            postgres_engine)
    assert_matches_models(postgres_engine)
    command.downgrade(alembic_config(postgres_engine), "base")
    upgrade(postgres_engine)
    assert_matches_models(postgres_engine)

