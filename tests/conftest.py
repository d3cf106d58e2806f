"""Shared test setup: the runtime installed, a fake clock, fresh caches, and the committed events."""

from __future__ import annotations

import os
import typing as t
from collections.abc import Iterator

import pytest

import runtime
from models import clock
from models import events
from runtime.execution import cache

runtime.install()  # goal matching hears the CRM's domain events, as in the app and the worker

os.environ.setdefault("STAGECRAFT_TIMEZONE", "UTC")


@pytest.fixture
def fake_clock() -> Iterator[clock.FakeClock]:
    """Install a FakeClock for the test and restore the real one after."""
    fake = clock.FakeClock()
    previous = clock.set_clock(fake)
    yield fake
    clock.set_clock(previous)


@pytest.fixture(autouse=True)
def fresh_runtime_caches() -> Iterator[None]:
    """Compiled campaigns are cached per process by version id; each test has its own database."""
    cache.clear_caches()
    yield
    cache.clear_caches()


@pytest.fixture
def committed() -> Iterator[list[events.Event]]:
    """Every domain event and notice of the transactions that commit during the test, in order."""
    seen: list[events.Event] = []

    def record(batch: t.Sequence[events.Event]) -> None:
        seen.extend(batch)

    events.subscribe(record)
    yield seen
    events.unsubscribe(record)
