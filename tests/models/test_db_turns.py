"""SQLite writers of one process take turns first come, first served (models.db.FairTurn)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy import text

from models.db import make_engine
from models.db import upgrade


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty SQLite file."""
    engine = make_engine(f"sqlite:///{tmp_path / 'turns.db'}")
    yield engine
    engine.dispose()


def test_writers_of_one_process_take_turns_first_come_first_served(sqlite_engine: Engine) -> None:
    """A writer that waits gets the SQLite write lock before a busy writer takes it again (no starvation)."""
    import threading
    import time

    upgrade(sqlite_engine)
    order: list[str] = []
    holding = threading.Event()
    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():  # back-to-back transactions, as a busy step loop makes them
            with sqlite_engine.begin() as conn:
                conn.execute(text("SELECT 1"))
                holding.set()
                time.sleep(0.02)
            order.append("busy")

    def waiter() -> None:
        with sqlite_engine.begin() as conn:
            conn.execute(text("SELECT 1"))
        order.append("waiter")

    hog = threading.Thread(target=busy)
    hog.start()
    assert holding.wait(5)
    started = time.monotonic()
    late = threading.Thread(target=waiter)
    late.start()
    late.join(10)
    stop.set()
    hog.join(10)
    assert "waiter" in order and order.index("waiter") <= order.count("busy")
    assert time.monotonic() - started < 1.0  # one turn of the busy writer at most, not the busy timeout
    assert order[: order.index("waiter")].count("busy") <= 2
