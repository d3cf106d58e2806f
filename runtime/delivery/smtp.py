"""Email over SMTP: builds the message and hands it to the configured server.

Invariants:
    * The Message-ID derives from the row's idempotency key, so a re-send after
      a crash carries the same id.
    * A header with CR/LF is never sent (a permanent failure instead).
    * With no SMTP server configured (``STAGECRAFT_SMTP_URL`` empty), emails
      are held in the outbox and go out once one is configured.
"""

from __future__ import annotations

import html
import re
import smtplib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import unquote
from urllib.parse import urlsplit

from runtime.config import RuntimeConfig
from runtime.delivery.base import Claimed
from runtime.delivery.base import PermanentError
from runtime.delivery.base import TransientError
from runtime.delivery.base import register_transport

HELD_NOTE = "held: no SMTP server configured (STAGECRAFT_SMTP_URL is empty); kept in the outbox"


def message_id_for(key: str) -> str:
    """The RFC 5322 Message-ID derived from an idempotency key: ``<key@stagecraft>``."""
    # Keys look like "run:12:step:t3"; ':' is not allowed in a msg-id's left part.
    left = re.sub(r"[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]", ".", key).strip(".") or "outbox"
    left = re.sub(r"\.{2,}", ".", left)
    return f"<{left}@stagecraft>"


def _strip_html(body: str) -> str:
    text = re.sub(r"(?is)<(script|style).*?</\1>", "", body)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</h[1-6]>", "\n", text)
    text = re.sub(r"<[^>]+>", "", text)
    return html.unescape(text).strip()


def build_email(
    key: str, payload: dict[str, Any], mail_from: str, sent_at: datetime
) -> EmailMessage:
    """The multipart (text + html) message for an email outbox row.

    Raises:
        PermanentError: no recipient, or a header that cannot be encoded safely.
    """
    to = str(payload.get("to") or "").strip()
    if not to:
        raise PermanentError("email has no recipient")
    text = payload.get("text")
    # A campaign email carries text; its HTML part is that text, escaped (merge values are never HTML).
    body = str(payload.get("body") or "") or (text_to_html(str(text)) if text else "")
    msg = EmailMessage()
    try:
        msg["From"] = mail_from
        msg["To"] = to
        msg["Subject"] = str(payload.get("subject") or "")
        msg["Date"] = format_datetime(sent_at)
        msg["Message-ID"] = str(payload.get("message_id") or message_id_for(key))
        msg["X-Stagecraft-Key"] = key
    except ValueError as exc:  # CR/LF in a header: never send a forged header
        raise PermanentError(f"bad email header: {exc}") from exc
    msg.set_content(str(text) if text is not None else _strip_html(body))
    if body:
        msg.add_alternative(body, subtype="html")
    return msg


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to hand emails over: parsed from ``smtp[s]://[user:pw@]host[:port][?starttls=1]``."""

    host: str
    port: int
    ssl: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = None


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


class SmtpLink:
    """One SMTP connection, opened lazily and reused for a relay batch."""

    def __init__(self, target: SmtpTarget, timeout: float) -> None:
        self.target = target
        self.timeout = timeout
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        t = self.target
        conn: smtplib.SMTP
        if t.ssl:
            conn = smtplib.SMTP_SSL(t.host, t.port, timeout=self.timeout)
        else:
            conn = smtplib.SMTP(t.host, t.port, timeout=self.timeout)
        try:
            conn.ehlo_or_helo_if_needed()
            if t.starttls:
                conn.starttls()
                conn.ehlo()
            if t.username:
                conn.login(t.username, t.password or "")
        except BaseException:
            conn.close()
            raise
        return conn

    def send(self, msg: EmailMessage, mail_from: str, to: str) -> None:
        """Send one message; raises TransientError or PermanentError."""
        try:
            if self._conn is None:
                self._conn = self._connect()
            self._conn.send_message(msg, from_addr=mail_from, to_addrs=[to])
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            codes = [code for code, _ in exc.recipients.values()]
            detail = "; ".join(f"{r}: {c} {m!r}" for r, (c, m) in exc.recipients.items())
            if codes and all(code >= 500 for code in codes):
                raise PermanentError(f"recipient refused: {detail}") from exc
            raise TransientError(f"recipient deferred: {detail}") from exc
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            raise TransientError(
                f"SMTP authentication failed: {exc.smtp_code} {exc.smtp_error!r}"
            ) from exc
        except smtplib.SMTPResponseException as exc:
            self.close()
            message = f"SMTP {exc.smtp_code} {exc.smtp_error!r}"
            if 500 <= exc.smtp_code < 600:
                raise PermanentError(message) from exc
            raise TransientError(message) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise TransientError(
                f"SMTP connection to {self.target.host}:{self.target.port}: {exc!r}"
            ) from exc

    def close(self) -> None:
        """Quit politely if connected; never raises."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()


def text_to_html(text: str) -> str:
    """Plain text as escaped HTML with line breaks (merge fields were rendered as text)."""
    return html.escape(text, quote=True).replace("\n", "<br>\n")


class SmtpSender:
    """One relay pass's SMTP connection."""

    def __init__(self, config: RuntimeConfig) -> None:
        self.config = config
        self.link = SmtpLink(parse_smtp_url(config.smtp_url or ""), config.http_timeout)

    def deliver(self, item: Claimed, now: datetime) -> None:
        """Build and send the email of an outbox row."""
        msg = build_email(item.key, item.payload, self.config.mail_from, now)
        self.link.send(msg, self.config.mail_from, str(item.payload.get("to")).strip())

    def close(self) -> None:
        """Quit the connection."""
        self.link.close()


class SmtpTransport:
    """The `email` outbox kind."""

    kind = "email"
    held_note = HELD_NOTE

    def ready(self, config: RuntimeConfig) -> bool:
        """Only with an SMTP server configured."""
        return bool(config.smtp_url)

    def open(self, config: RuntimeConfig) -> SmtpSender:
        """A lazily connecting SMTP link for one relay pass."""
        return SmtpSender(config)


register_transport(SmtpTransport())
