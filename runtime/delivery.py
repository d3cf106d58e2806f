"""The outbox relay: deliver emails (SMTP) and HTTP posts written by steps.

Invariants:
    * A row is delivered OUTSIDE any database transaction: it is first leased
      in a short claim transaction (PostgreSQL: ``FOR UPDATE SKIP LOCKED``;
      SQLite: the single writer lock), then sent, then settled (sent / retry /
      failed) in its own short transaction.  No lock is held while talking to
      the network.
    * Delivery is at least once, keyed: every attempt carries the row's
      idempotency key downstream (email ``Message-ID: <key@stagecraft>`` plus
      ``X-Stagecraft-Key``; HTTP ``Idempotency-Key``), so the one duplicate a
      crash between send and settle can cause is recognisable by the receiver.
      The key never changes between attempts.
    * A row is never sent by two relays at once while its lease holds; a lease
      that expired (its relay died) makes the row claimable again, so nothing
      is lost.
    * Transient failures (connection errors, timeouts, HTTP 5xx/408/429, SMTP
      4xx) retry with exponential backoff; permanent ones (HTTP 4xx, SMTP 5xx,
      a refused destination, a malformed payload) fail at once; after
      ``config.max_attempts`` attempts a row is failed.  ``last_error`` always
      says why.
    * HTTP posts to loopback, private, link-local, multicast, reserved or
      otherwise non-global addresses are refused (every address the host
      resolves to is checked) unless ``config.allow_private_http``.  Redirects
      are not followed, so a redirect cannot lead past that check.
    * With no SMTP server configured (``STAGECRAFT_SMTP_URL`` empty), emails are
      HELD: they stay ``pending`` in the outbox, are never claimed, and carry
      the note ``HELD_NOTE`` in ``last_error``; once an SMTP URL is configured
      the relay delivers them.  HTTP posts are unaffected.

Known limit: the address check resolves the host itself; ``requests`` resolves
again when it connects, so a DNS answer that changes in between (rebinding)
is not caught.
"""

from __future__ import annotations

import html
import ipaddress
import logging
import re
import smtplib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from typing import Literal
from urllib.parse import parse_qs
from urllib.parse import unquote
from urllib.parse import urlsplit

import requests
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from models import OutboxMessage
from models import clock
from runtime import notices
from runtime.config import RuntimeConfig
from runtime.faults import maybe_crash

log = logging.getLogger(__name__)

HELD_NOTE = "held: no SMTP server configured (STAGECRAFT_SMTP_URL is empty); kept in the outbox"
BACKOFF_BASE_SECONDS = 15.0
BACKOFF_CAP_SECONDS = 3600.0
USER_AGENT = "Stagecraft-outbox/0.1"

Verdict = Literal["sent", "retry", "failed"]


class TransientError(Exception):
    """A delivery failure worth retrying later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    """A delivery failure that no retry will fix."""


class RefusedDestination(PermanentError):
    """An HTTP destination that resolves to a non-public address."""


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


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt came to."""

    verdict: Verdict
    error: str | None = None
    retry_after: float | None = None


# --------------------------------------------------------------------------- helpers


def message_id_for(key: str) -> str:
    """The RFC 5322 Message-ID derived from an idempotency key: ``<key@stagecraft>``."""
    # Keys look like "run:12:step:t3"; ':' is not allowed in a msg-id's left part.
    left = re.sub(r"[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]", ".", key).strip(".") or "outbox"
    left = re.sub(r"\.{2,}", ".", left)
    return f"<{left}@stagecraft>"


def backoff_seconds(attempts: int) -> float:
    """Delay before the next try after `attempts` failed attempts (15 s, 30 s, 60 s, … ≤ 1 h)."""
    return min(BACKOFF_BASE_SECONDS * float(2 ** max(attempts - 1, 0)), BACKOFF_CAP_SECONDS)


def _forbidden_reason(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    checks = (
        ("loopback", addr.is_loopback),
        ("link-local", addr.is_link_local),
        ("unspecified", addr.is_unspecified),
        ("multicast", addr.is_multicast),
        ("reserved", addr.is_reserved),
        ("private", addr.is_private),
        ("not globally routable", not addr.is_global),
    )
    for reason, hit in checks:
        if hit:
            return reason
    return None


def check_destination(host: str, port: int) -> None:
    """Refuse `host` if any address it resolves to is not a public one.

    Args:
        host: a host name or literal address.
        port: the port the request will use.

    Raises:
        RefusedDestination: an address is loopback/private/link-local/reserved/….
        TransientError: the name does not resolve (may be a DNS hiccup).
    """
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise TransientError(f"cannot resolve {host!r}: {exc}") from exc
    if not infos:
        raise TransientError(f"{host!r} resolves to no address")
    for info in infos:
        literal = str(info[4][0]).split("%", 1)[0]
        reason = _forbidden_reason(ipaddress.ip_address(literal))
        if reason:
            raise RefusedDestination(
                f"refused: {host} resolves to {literal} ({reason}); "
                "set STAGECRAFT_HTTP_ALLOW_PRIVATE=1 to allow private destinations"
            )


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
    body = str(payload.get("body") or "")
    text = payload.get("text")
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


# --------------------------------------------------------------------------- SMTP


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


# --------------------------------------------------------------------------- HTTP


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None


def post_json(
    http: requests.Session, key: str, payload: dict[str, Any], config: RuntimeConfig
) -> None:
    """POST the row's JSON with its Idempotency-Key; raise on anything but 2xx.

    Raises:
        RefusedDestination: a private destination while those are not allowed.
        PermanentError: bad URL, a 3xx, or a 4xx other than 408/429.
        TransientError: connection error, timeout, 5xx, 408, 429.
    """
    url = str(payload.get("url") or "")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PermanentError(f"not an http(s) URL: {url!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise PermanentError(f"bad port in {url!r}") from exc
    if not config.allow_private_http:
        check_destination(parts.hostname, port)
    headers = {"Idempotency-Key": key, "User-Agent": USER_AGENT}
    try:
        response = http.post(
            url,
            json=payload.get("json"),
            headers=headers,
            timeout=config.http_timeout,
            allow_redirects=False,
            stream=True,  # the body is not needed; never download an endless one
        )
    except requests.Timeout as exc:
        raise TransientError(f"timed out after {config.http_timeout:g} s: {url}") from exc
    except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as exc:
        raise PermanentError(f"bad URL {url!r}: {exc}") from exc
    except requests.RequestException as exc:
        raise TransientError(f"{type(exc).__name__}: {exc}") from exc
    with response:
        status = response.status_code
        if 200 <= status < 300:
            return
        try:
            raw = response.raw.read(200, decode_content=True) or b""
        except Exception:  # only a hint for last_error
            raw = b""
        snippet = raw.decode("utf-8", "replace").strip()
        message = f"HTTP {status} from {url}" + (f": {snippet}" if snippet else "")
        if status >= 500 or status in (408, 429):
            raise TransientError(message, retry_after=_retry_after(response))
        if 300 <= status < 400:
            raise PermanentError(f"{message} (redirects are not followed)")
        raise PermanentError(message)


# --------------------------------------------------------------------------- relay


def _now(now: datetime | None) -> datetime:
    return now if now is not None else clock.now()


def claim_outbox(
    session_factory: sessionmaker[Session],
    *,
    worker_id: str,
    config: RuntimeConfig,
    now: datetime | None = None,
) -> list[Claimed]:
    """Lease up to ``config.batch_size`` due pending rows for `worker_id`.

    Args:
        session_factory: sessions on the runtime database.
        worker_id: this relay's lease owner name.
        config: batch size, lease length, whether SMTP is configured.
        now: the current time (default: the installed clock).

    Returns:
        The leased rows, oldest due first.
    """
    moment = _now(now)
    lease_until = moment + timedelta(seconds=config.lease_seconds)
    session = session_factory()
    try:
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.status == "pending",
                OutboxMessage.next_attempt_at <= moment,
                or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until <= moment),
            )
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(config.batch_size)
        )
        if not config.smtp_url:
            query = query.where(OutboxMessage.kind != "email")
            session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.kind == "email",
                    OutboxMessage.status == "pending",
                    OutboxMessage.last_error.is_(None),
                )
                .values(last_error=HELD_NOTE)
            )
        if session.get_bind().dialect.name != "sqlite":
            query = query.with_for_update(skip_locked=True)
        rows = list(session.scalars(query))
        claimed = []
        for row in rows:
            row.lease_owner = worker_id
            row.lease_until = lease_until
            claimed.append(
                Claimed(
                    id=row.id,
                    kind=row.kind,
                    key=row.idempotency_key,
                    payload=dict(row.payload or {}),
                    attempts=row.attempts,
                    contact_id=row.contact_id,
                    lease_until=lease_until,
                )
            )
        session.commit()
        return claimed
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def settle(
    session_factory: sessionmaker[Session],
    item: Claimed,
    outcome: Outcome,
    *,
    worker_id: str,
    config: RuntimeConfig,
    now: datetime | None = None,
) -> str | None:
    """Record an attempt's outcome in a short transaction; return the new status.

    A "sent" outcome is recorded even if the lease was lost meanwhile (the
    message did go out); retry/failed only while this worker still holds the
    lease, so a slower relay never overwrites a newer attempt.

    Returns:
        "sent", "pending" (retry scheduled), "failed", or None if the row was
        no longer ours to settle.
    """
    moment = _now(now)
    session = session_factory()
    try:
        row = session.get(OutboxMessage, item.id)
        if row is None or row.status != "pending":
            session.rollback()
            return None
        if outcome.verdict != "sent" and row.lease_owner != worker_id:
            session.rollback()
            return None
        row.attempts = row.attempts + 1
        row.lease_owner = None
        row.lease_until = None
        if outcome.verdict == "sent":
            row.status = "sent"
            row.sent_at = moment
            row.last_error = None
        elif outcome.verdict == "retry" and row.attempts < config.max_attempts:
            delay = backoff_seconds(row.attempts)
            if outcome.retry_after is not None:
                delay = min(max(delay, outcome.retry_after), BACKOFF_CAP_SECONDS)
            row.next_attempt_at = moment + timedelta(seconds=delay)
            row.last_error = f"attempt {row.attempts}/{config.max_attempts}: {outcome.error}"
        else:
            row.status = "failed"
            if outcome.verdict == "retry":
                row.last_error = f"gave up after {row.attempts} attempts: {outcome.error}"
            else:
                row.last_error = outcome.error
        if row.contact_id is not None:
            notices.announce(
                session,
                f"contact:{row.contact_id}",
                "outbox",
                {
                    "id": row.id,
                    "kind": row.kind,
                    "status": row.status,
                    "idempotency_key": row.idempotency_key,
                    "attempts": row.attempts,
                    "last_error": row.last_error,
                },
            )
        status = row.status
        session.commit()
        return status
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def release(
    session_factory: sessionmaker[Session], items: list[Claimed], *, worker_id: str
) -> None:
    """Give back leases on rows this relay will not get to (no attempt counted)."""
    if not items:
        return
    session = session_factory()
    try:
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_([i.id for i in items]), OutboxMessage.lease_owner == worker_id
            )
            .values(lease_owner=None, lease_until=None)
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _attempt(deliver: Callable[[], None]) -> Outcome:
    try:
        deliver()
    except PermanentError as exc:
        return Outcome("failed", str(exc))
    except TransientError as exc:
        return Outcome("retry", str(exc), exc.retry_after)
    except Exception as exc:  # a bug must not leave the row leased forever: count the attempt
        log.exception("unexpected delivery error")
        return Outcome("retry", f"unexpected {type(exc).__name__}: {exc}")
    return Outcome("sent")


def relay_outbox(
    session_factory: sessionmaker[Session],
    *,
    worker_id: str,
    config: RuntimeConfig,
    now: datetime | None = None,
) -> int:
    """Claim due outbox rows, deliver each outside any transaction, settle each.

    Args:
        session_factory: sessions on the runtime database.
        worker_id: this relay's lease owner name (unique per process).
        config: SMTP URL, sender, HTTP timeout, private-address policy,
            max attempts, batch size, lease length.
        now: the current time (default: the installed clock); tests pass it to
            step over backoff delays without sleeping.

    Returns:
        How many rows were attempted (sent, rescheduled or failed).
    """
    claimed = claim_outbox(session_factory, worker_id=worker_id, config=config, now=now)
    if not claimed:
        return 0
    maybe_crash("relay_after_claim")
    smtp = (
        SmtpLink(parse_smtp_url(config.smtp_url), config.http_timeout) if config.smtp_url else None
    )
    http = requests.Session()
    # Stop early rather than send on a lease that may already have passed to another relay.
    margin = timedelta(seconds=min(config.http_timeout + 5, config.lease_seconds / 2))
    done = 0
    try:
        for index, item in enumerate(claimed):
            if _now(now) > item.lease_until - margin:
                release(session_factory, claimed[index:], worker_id=worker_id)
                break
            outcome = _deliver(item, config, smtp, http, _now(now))
            if outcome.verdict == "sent":
                maybe_crash("after_send")
            status = settle(
                session_factory, item, outcome, worker_id=worker_id, config=config, now=now
            )
            done += 1
            if outcome.verdict == "sent":
                log.info("outbox %s %s delivered", item.kind, item.key)
            else:
                log.warning("outbox %s %s -> %s: %s", item.kind, item.key, status, outcome.error)
    finally:
        if smtp is not None:
            smtp.close()
        http.close()
    return done


def _deliver(
    item: Claimed,
    config: RuntimeConfig,
    smtp: SmtpLink | None,
    http: requests.Session,
    moment: datetime,
) -> Outcome:
    if item.kind == "email":
        if smtp is None:  # claimed under another config; keep it for later
            return Outcome("retry", HELD_NOTE)

        def send_email() -> None:
            msg = build_email(item.key, item.payload, config.mail_from, moment)
            smtp.send(msg, config.mail_from, str(item.payload.get("to")).strip())

        return _attempt(send_email)
    if item.kind == "http_post":
        return _attempt(lambda: post_json(http, item.key, item.payload, config))
    return Outcome("failed", f"unknown outbox kind {item.kind!r}")
