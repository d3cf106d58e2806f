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


class RecipientRejected(PermanentError):
    """The receiving server refused the address for good (5xx on RCPT): the contact has bounced."""


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
    public_id: str | None = None
    campaign_id: int | None = None


Report = t.Callable[[Claimed, BaseException | None], None]
"""report(item, error): an item's delivery ended (error None = accepted); may block the caller
while too many of its accepted items are not yet recorded (the relay's in-flight window)."""


class Sender(t.Protocol):
    """A transport's connections for one relay pass (opened lazily, closed at the end)."""

    def deliver(self, item: Claimed, now: datetime) -> None:
        """Deliver one row; raise TransientError or PermanentError on failure."""
        ...

    def close(self) -> None:
        """Release connections; never raises."""
        ...


@t.runtime_checkable
class StreamingSender(Sender, t.Protocol):
    """A sender that delivers many items at once (parallel connections, pipelining)."""

    def deliver_all(self, items: t.Iterator[Claimed], now: datetime, report: Report) -> None:
        """Deliver items as they are taken from `items` (thread-safe), calling `report` as each ends.

        Returns when `items` is exhausted and every taken item was reported.
        """
        ...


class Transport(t.Protocol):
    """How one outbox kind reaches the world."""

    kind: str
    held_note: str

    def ready(self, config: RuntimeConfig) -> bool:
        """False while the channel is not configured: its rows are held, not claimed."""
        ...

    def open(self, config: RuntimeConfig) -> Sender:
        """Connections, kept open across relay passes by the delivery loop until idle."""
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
