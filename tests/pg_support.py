"""PostgreSQL databases for tests: one per name *and process*, so concurrent runs never collide."""

from __future__ import annotations

import atexit
import os
import socket

ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
_made: set[str] = set()


def postgres_reachable() -> bool:
    """True when a PostgreSQL server listens on 127.0.0.1:5432."""
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def _drop(name: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_database(base: str) -> str:
    """Drop and recreate `<base>_<pid>`; return its URL. It is dropped when the run ends."""
    import psycopg

    name = f"{base}_{os.getpid()}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    if name not in _made:
        _made.add(name)
        atexit.register(_drop, name)
    return f"postgresql://postgres@127.0.0.1:5432/{name}"
