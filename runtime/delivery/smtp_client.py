"""One persistent SMTP connection that sends a stream of messages, pipelined where the server allows.

`smtplib` opens the connection (EHLO, STARTTLS, AUTH); sending is done here,
because smtplib waits for every reply in turn. With PIPELINING (RFC 2920)
the end of one message's data and the next message's MAIL FROM, RCPT TO and
DATA go out in one write, so a message costs one round trip instead of four.

Invariants:
    * A message is reported accepted only on the server's 2xx after its data;
      a message whose data went out but whose reply never came (connection
      lost) is reported as a transient failure: it may have been accepted, so
      it is "in flight" and a retry may duplicate it (same Message-ID).
    * 5xx on RCPT raises the item's `RecipientRejected` (a bounce); other 5xx
      are permanent, 4xx and connection trouble transient.
    * After a refused envelope the transaction is reset (RSET) and the
      connection carries on with the next message.
"""

from __future__ import annotations

import smtplib
import typing as t
from collections.abc import Callable
from dataclasses import dataclass

from runtime.delivery.base import PermanentError
from runtime.delivery.base import RecipientRejected
from runtime.delivery.base import TransientError


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to hand emails over: parsed from ``smtp[s]://[user:pw@]host[:port][?starttls=1]``."""

    host: str
    port: int
    ssl: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = None


@dataclass
class Outgoing:
    """One message to send: envelope, bytes (CRLF, not dot-stuffed) and its caller's token."""

    mail_from: str
    to: str
    data: bytes
    item: t.Any


MAX_LINE = 8193  # smtplib's limit for one reply line


class ConnectionLost(TransientError):
    """The connection broke; the sender reconnects for the next message."""


def dot_stuff(data: bytes) -> bytes:
    """The message as DATA content: leading dots doubled, ending with CRLF '.' CRLF."""
    if data.startswith(b"."):
        data = b"." + data
    data = data.replace(b"\r\n.", b"\r\n..")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _reply_error(stage: str, code: int, text: bytes, rcpt: bool = False) -> Exception:
    message = f"SMTP {code} on {stage}: {text.decode('utf-8', 'replace')[:200]!r}"
    if 500 <= code < 600:
        return RecipientRejected(message) if rcpt else PermanentError(message)
    return TransientError(message)


class SmtpConnection:
    """A connection that sends messages one after another (pipelined when offered)."""

    def __init__(self, target: SmtpTarget, timeout: float) -> None:
        self.target = target
        self.timeout = timeout
        self.smtp: smtplib.SMTP | None = None
        self.pipelining = False

    def _open(self) -> smtplib.SMTP:
        if self.smtp is not None:
            return self.smtp
        tg = self.target
        try:
            conn = (smtplib.SMTP_SSL if tg.ssl else smtplib.SMTP)(tg.host, tg.port, timeout=self.timeout)
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientError(f"SMTP connection to {tg.host}:{tg.port}: {exc!r}") from exc
        try:
            conn.ehlo_or_helo_if_needed()
            if tg.starttls:
                conn.starttls()
                conn.ehlo()
            if tg.username:
                conn.login(tg.username, tg.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            conn.close()
            raise TransientError(f"SMTP authentication failed: {exc.smtp_code} {exc.smtp_error!r}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            conn.close()
            raise TransientError(f"SMTP connection to {tg.host}:{tg.port}: {exc!r}") from exc
        self.pipelining = conn.has_extn("pipelining")
        self.smtp = conn
        return conn

    def _write(self, data: bytes) -> None:
        assert self.smtp is not None and self.smtp.sock is not None
        self.smtp.sock.sendall(data)

    def _reply(self) -> tuple[int, bytes]:
        """One (possibly multi-line) reply, read straight off the socket's buffer (smtplib's is slower)."""
        smtp = self.smtp
        assert smtp is not None and smtp.sock is not None
        if smtp.file is None:  # share smtplib's reader: one buffer per socket
            smtp.file = smtp.sock.makefile("rb")
        lines: list[bytes] = []
        while True:
            line = smtp.file.readline(MAX_LINE)
            if not line:
                raise ConnectionLost("the SMTP server closed the connection")
            lines.append(line[4:].strip())
            if len(line) < 4 or line[3:4] != b"-":
                break
        try:
            code = int(line[:3])
        except ValueError as exc:
            raise ConnectionLost(f"not an SMTP reply: {line[:40]!r}") from exc
        return code, b"\n".join(lines)

    @staticmethod
    def _envelope(message: Outgoing) -> bytes:
        return f"MAIL FROM:<{message.mail_from}>\r\nRCPT TO:<{message.to}>\r\nDATA\r\n".encode()

    def _envelope_replies(self, message: Outgoing, written: bool) -> Exception | None:
        """Send (unless pipelined already) and read MAIL, RCPT, DATA replies; an error means RSET was done."""
        commands = self._envelope(message).split(b"\r\n")[:3]
        if not written and not self.pipelining:
            replies = []
            for command in commands:
                self._write(command + b"\r\n")
                replies.append(self._reply())
                if replies[-1][0] >= 400:
                    break
        else:
            if not written:
                self._write(self._envelope(message))
            replies = [self._reply() for _ in commands]
        error: Exception | None = None
        stages = ("MAIL FROM", "RCPT TO", "DATA")
        for (code, text), stage in zip(replies, stages, strict=False):
            expected = 354 if stage == "DATA" else 250
            if code != expected and not (stage != "DATA" and 200 <= code < 300):
                error = _reply_error(stage, code, text, rcpt=stage == "RCPT TO")
                break
        if error is None:
            return None
        if any(code == 354 for code, _ in replies):  # the server wants data anyway: end it empty
            self._write(b".\r\n")
            self._reply()
        self._write(b"RSET\r\n")
        self._reply()
        return error

    def send_stream(self, next_message: Callable[[], Outgoing | None],
                    report: Callable[[Outgoing, BaseException | None], None]) -> None:
        """Send messages from `next_message()` until it returns None, reporting each outcome.

        A connection that cannot be opened reports each message it takes as a
        transient failure (retried later with backoff).
        """
        message = next_message()
        envelope_written = False
        while message is not None:
            try:
                self._open()
                error = self._envelope_replies(message, envelope_written)
            except (smtplib.SMTPException, OSError, TransientError) as exc:
                self.close()
                report(message, exc if isinstance(exc, TransientError) else ConnectionLost(repr(exc)))
                message, envelope_written = next_message(), False
                continue
            if error is not None:
                report(message, error)
                message, envelope_written = next_message(), False
                continue
            following = next_message()
            chunk = dot_stuff(message.data)
            if following is not None and self.pipelining:
                chunk += self._envelope(following)
            try:
                self._write(chunk)
                code, text = self._reply()
            except (smtplib.SMTPException, OSError, ConnectionLost) as exc:
                self.close()
                report(message, ConnectionLost(f"no reply after the data (it may have arrived): {exc!r}"))
                message, envelope_written = following, False
                continue
            report(message, None if 200 <= code < 300 else _reply_error("end of data", code, text))
            message, envelope_written = following, following is not None and self.pipelining

    def close(self) -> None:
        """Quit politely if connected; never raises."""
        conn, self.smtp = self.smtp, None
        if conn is None:
            return
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()
