"""Outside effects: the outbox relay and one transport per outbox kind.

A step queues an effect with ``StepContext.enqueue(kind, payload)``; the relay
(`runtime.delivery.relay`) leases due rows and hands each to the transport
registered for its kind. Adding a channel is one `Transport` registered here
(plus the catalog step that enqueues it); nothing else changes.

Invariants:
    * A transport talks to the network only; it never touches the database.
      It raises `TransientError` (retry later) or `PermanentError` (give up),
      and returns normally when the effect happened.
    * Every attempt carries the row's idempotency key downstream (email
      Message-ID, HTTP ``Idempotency-Key``), so a duplicate after a crash is
      recognisable by the receiver.
    * A transport that is not ready (e.g. no SMTP server configured) holds its
      rows: they stay pending, unclaimed, with `held_note` as their last error.
"""

from __future__ import annotations

# Importing the transports registers them for their outbox kinds.
from runtime.delivery import http as http  # noqa: F401
from runtime.delivery import smtp as smtp  # noqa: F401
