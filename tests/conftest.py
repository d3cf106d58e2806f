"""Shared test setup: a fake clock per test and a clean runtime hook registry."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from models import clock

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
    from runtime import engine

    engine.clear_caches()
    yield
    engine.clear_caches()
