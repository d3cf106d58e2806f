"""Fault injection for crash-safety tests: die with SIGKILL at a named point.

Invariants:
    * With ``STAGECRAFT_FAULT`` unset (production), ``maybe_crash`` is a dict
      lookup and a comparison: it never raises, never logs, never sleeps.
    * When ``STAGECRAFT_FAULT`` names a point (a comma-separated list is
      allowed), the process kills itself with SIGKILL the first time it
      reaches that point: no ``finally``, no ``atexit``, no rollback — exactly
      what a power cut or an OOM kill does.
    * The points are fixed names (``POINTS``), so a typo in a test fails loudly
      instead of silently never crashing.
    * ``point@N`` kills at the N-th time the point is reached (counted per
      process), e.g. ``after_send@10`` mid-way through a delivery.

Points:
    ``after_claim``        step loop: a batch of due runs is claimed, its steps
                           have run, the results are NOT committed yet.
    ``after_commit``       step loop: a batch (and its outbox rows) is committed,
                           the relay has not delivered anything yet.
    ``relay_after_claim``  relay: outbox rows are leased, nothing sent yet.
    ``after_send``         relay: a message went out over SMTP/HTTP, its row is
                           NOT yet marked sent.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter

POINTS = frozenset({"after_claim", "after_commit", "relay_after_claim", "after_send"})
ENV = "STAGECRAFT_FAULT"
_hits: Counter[str] = Counter()
_lock = threading.Lock()


def armed() -> dict[str, int]:
    """The points named in STAGECRAFT_FAULT with the hit that kills (1 unless ``point@N``)."""
    raw = os.environ.get(ENV, "")
    out: dict[str, int] = {}
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        name, _, count = part.partition("@")
        out[name] = int(count) if count.isdigit() and int(count) > 0 else 1
    unknown = set(out) - POINTS
    if unknown:
        raise ValueError(
            f"{ENV} names unknown fault points: {sorted(unknown)}; known: {sorted(POINTS)}"
        )
    return out


def armed_points() -> frozenset[str]:
    """The points named in STAGECRAFT_FAULT (empty when unset)."""
    return frozenset(armed())


def maybe_crash(point: str) -> None:
    """SIGKILL this process if STAGECRAFT_FAULT names `point`.

    Args:
        point: one of POINTS.

    Raises:
        ValueError: `point` (or a name in STAGECRAFT_FAULT) is not a known point.
    """
    if point not in POINTS:
        raise ValueError(f"unknown fault point {point!r}")
    if ENV not in os.environ:
        return
    at = armed().get(point)
    if at is None:
        return
    with _lock:
        _hits[point] += 1
        hit = _hits[point]
    if hit >= at:
        os.kill(os.getpid(), signal.SIGKILL)
