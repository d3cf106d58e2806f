"""The delivery contract: what a transport is, how it reports failures, and the registry by outbox kind."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runtime.config import RuntimeConfig


class TransientError(Exception):
    """A delivery failure worth retrying later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    """A delivery failure that no retry will fix."""


@dataclass(frozen=True)
class Claimed:
    """A leased outbox row, copied out of its session."""

    id: int
    kind: str
    key: str
    payload: dict[str, Any]
    attempts: int
    contact_id: int | None
    lease_until: datetime


class Sender(t.Protocol):
    """A transport's connections for one relay pass (opened lazily, closed at the end)."""

    def deliver(self, item: Claimed, now: datetime) -> None:
        """Deliver one row; raise TransientError or PermanentError on failure."""
        ...

    def close(self) -> None:
        """Release connections; never raises."""
        ...


class Transport(t.Protocol):
    """How one outbox kind reaches the world."""

    kind: str
    held_note: str

    def ready(self, config: RuntimeConfig) -> bool:
        """False while the channel is not configured: its rows are held, not claimed."""
        ...

    def open(self, config: RuntimeConfig) -> Sender:
        """Connections for one relay pass."""
        ...


TRANSPORTS: dict[str, Transport] = {}


def register_transport(transport: Transport) -> Transport:
    """Register the transport for its outbox kind (one per kind)."""
    if transport.kind in TRANSPORTS:
        raise ValueError(f"a transport for outbox kind {transport.kind!r} is registered already")
    TRANSPORTS[transport.kind] = transport
    return transport


def unregister_transport(kind: str) -> None:
    """Forget the transport of `kind` (tests that register their own)."""
    TRANSPORTS.pop(kind, None)


def transport_for(kind: str) -> Transport | None:
    """The registered transport of an outbox kind, or None."""
    return TRANSPORTS.get(kind)
