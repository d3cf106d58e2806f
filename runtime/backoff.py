"""Retry delays: one exponential backoff for failing steps and failing deliveries."""

from __future__ import annotations


def backoff_seconds(attempts: int, base: float, cap: float | None = None) -> float:
    """The delay after `attempts` failed attempts (1-based): base, 2 × base, 4 × base, … up to `cap`."""
    delay = base * float(2 ** max(attempts - 1, 0))
    return delay if cap is None else min(delay, cap)
