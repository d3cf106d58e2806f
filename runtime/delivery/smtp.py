"""Email over SMTP: renders each message (runtime.delivery.email_content) and sends it on persistent,
parallel, pipelined connections (runtime.delivery.smtp_client).

Invariants:
    * The Message-ID derives from the row's idempotency key, so a re-send after
      a crash carries the same id.
    * A header with CR/LF is never sent (a permanent failure instead).
    * With no SMTP server configured (``STAGECRAFT_SMTP_URL`` empty), emails
      are held in the outbox and go out once one is configured.
    * ``config.smtp_connections`` connections at most, each owned by one
      thread; they stay open between relay passes (the delivery loop closes
      the sender when delivery goes idle).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import unquote
from urllib.parse import urlsplit

from runtime.config import RuntimeConfig
from runtime.delivery.base import Claimed
from runtime.delivery.base import PermanentError
from runtime.delivery.base import Report
from runtime.delivery.base import register_transport
from runtime.delivery.email_content import BadHeader
from runtime.delivery.email_content import Rendered
from runtime.delivery.email_content import message_id_for as message_id_for
from runtime.delivery.email_content import render_email
from runtime.delivery.email_content import text_to_html as text_to_html
from runtime.delivery.smtp_client import Outgoing
from runtime.delivery.smtp_client import SmtpConnection
from runtime.delivery.smtp_client import SmtpTarget
from runtime.delivery.tracking import PublicLinks

HELD_NOTE = "held: no SMTP server configured (STAGECRAFT_SMTP_URL is empty); kept in the outbox"


def public_links(config: RuntimeConfig, public_id: str | None) -> PublicLinks | None:
    """The public URLs of a message with a public id (None: an untracked row)."""
    if not public_id:
        return None
    return PublicLinks(config.public_url, config.signing_key(), public_id)


def render(config: RuntimeConfig, key: str, payload: dict[str, Any], public_id: str | None,
           sent_at: datetime) -> Rendered:
    """The message an outbox row sends (or sent at `sent_at`).

    Raises:
        PermanentError: no recipient, or a header that cannot be encoded safely.
    """
    try:
        return render_email(key, payload, mail_from=config.mail_from, sent_at=sent_at,
                            public=public_links(config, public_id))
    except (BadHeader, ValueError) as exc:
        raise PermanentError(f"bad email header: {exc}") from exc


def build_email(key: str, payload: dict[str, Any], mail_from: str, sent_at: datetime) -> EmailMessage:
    """The untracked message of a payload as an `EmailMessage` (tests and tools; delivery sends bytes).

    Raises:
        PermanentError: no recipient, or a header that cannot be encoded safely.
    """
    from email import message_from_bytes
    from email import policy

    try:
        rendered = render_email(key, payload, mail_from=mail_from, sent_at=sent_at, public=None)
    except (BadHeader, ValueError) as exc:
        raise PermanentError(f"bad email header: {exc}") from exc
    return message_from_bytes(rendered.as_bytes(), policy=policy.default)


def parse_smtp_url(url: str) -> SmtpTarget:
    """Parse STAGECRAFT_SMTP_URL.

    Raises:
        ValueError: not an smtp:// or smtps:// URL with a host.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError(f"SMTP URL must look like smtp://host:port, got {url!r}")
    ssl = parts.scheme == "smtps"
    query = parse_qs(parts.query)
    starttls = query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
    return SmtpTarget(
        host=parts.hostname,
        port=parts.port or (465 if ssl else 25),
        ssl=ssl,
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class SmtpSender:
    """Persistent SMTP connections, one thread each, fed from one stream of rows."""

    def __init__(self, config: RuntimeConfig) -> None:
        self.config = config
        target = parse_smtp_url(config.smtp_url or "")
        self.connections = [SmtpConnection(target, config.http_timeout)
                            for _ in range(max(1, config.smtp_connections))]
        self.pool = ThreadPoolExecutor(max_workers=len(self.connections), thread_name_prefix="smtp")

    def _outgoing(self, item: Claimed, now: datetime) -> Outgoing:
        rendered = render(self.config, item.key, item.payload, item.public_id, now)
        return Outgoing(self.config.mail_from, str(item.payload.get("to") or "").strip(), rendered.as_bytes(), item)

    def deliver(self, item: Claimed, now: datetime) -> None:
        """Send one row's email on the first connection; raise its failure."""
        errors: list[BaseException | None] = []
        self.deliver_all(iter([item]), now, lambda _item, error: errors.append(error), connections=1)
        if errors and errors[0] is not None:
            raise errors[0]

    def deliver_all(self, items: Iterator[Claimed], now: datetime, report: Report, connections: int = 0) -> None:
        """Send rows' emails on every connection at once until `items` runs out."""
        lock = threading.Lock()

        def next_message() -> Outgoing | None:
            while True:
                with lock:
                    item = next(items, None)
                if item is None:
                    return None
                try:
                    return self._outgoing(item, now)
                except Exception as exc:  # a bad row (or a bug) ends that row, not the stream
                    report(item, exc)

        def run(connection: SmtpConnection) -> None:
            connection.send_stream(next_message, lambda message, error: report(message.item, error))

        chosen = self.connections[: connections or len(self.connections)]
        for future in [self.pool.submit(run, c) for c in chosen]:
            future.result()

    def close(self) -> None:
        """Quit every connection and stop the threads."""
        for connection in self.connections:
            connection.close()
        self.pool.shutdown(wait=False)


class SmtpTransport:
    """The `email` outbox kind."""

    kind = "email"
    held_note = HELD_NOTE

    def ready(self, config: RuntimeConfig) -> bool:
        """Only with an SMTP server configured."""
        return bool(config.smtp_url)

    def open(self, config: RuntimeConfig) -> SmtpSender:
        """Lazily connecting SMTP connections."""
        return SmtpSender(config)


register_transport(SmtpTransport())
