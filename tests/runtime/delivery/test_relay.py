"""The outbox relay against a real aiosmtpd server and a real local HTTP server."""

from __future__ import annotations

import typing as t
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import OutboxMessage
from models.db import transaction
from runtime.config import RuntimeConfig
from runtime.delivery import relay as delivery
from runtime.delivery import smtp
from runtime.delivery.base import PermanentError
from runtime.delivery.base import TransientError
from runtime.delivery.http import RefusedDestination
from runtime.delivery.http import check_destination
from runtime.delivery.relay import relay_outbox
from runtime.delivery.smtp import HELD_NOTE
from runtime.delivery.smtp import message_id_for
from runtime.delivery.smtp import parse_smtp_url
from runtime.notices import OutboxChanged
from tests.runtime.relay_fixtures import ADMIN
from tests.runtime.relay_fixtures import HttpSink
from tests.runtime.relay_fixtures import SmtpSink
from tests.runtime.relay_fixtures import db_fixture  # noqa: F401
from tests.runtime.relay_fixtures import free_port
from tests.runtime.relay_fixtures import http_sink_fixture  # noqa: F401
from tests.runtime.relay_fixtures import smtp_sink_fixture  # noqa: F401

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def cfg(**kw: t.Any) -> RuntimeConfig:
    """A config with test-friendly defaults."""
    base: dict[str, t.Any] = {
        "database_url": "sqlite://",
        "smtp_url": None,
        "redis_url": None,
        "mail_from": "campaigns@stagecraft.test",
        "allow_private_http": True,
        "http_timeout": 5.0,
        "max_attempts": 4,
    }
    base.update(kw)
    return RuntimeConfig(**base)


def add_row(
    factory: t.Any,
    key: str,
    kind: str,
    payload: dict[str, t.Any],
    *,
    contact_id: int | None = None,
    at: datetime = NOW,
) -> int:
    """Insert one pending outbox row due at `at`."""
    with transaction(factory) as session:
        row = OutboxMessage(
            idempotency_key=key,
            kind=kind,
            payload=payload,
            contact_id=contact_id,
            status="pending",
            attempts=0,
            next_attempt_at=at,
            created_at=at,
        )
        session.add(row)
        session.flush()
        return row.id


def row(factory: t.Any, row_id: int) -> OutboxMessage:
    """A fresh copy of an outbox row."""
    with factory() as session:
        found = session.get(OutboxMessage, row_id)
        assert found is not None
        return found


def email(to: str = "ada@example.com", **kw: t.Any) -> dict[str, t.Any]:
    """An email payload as the send_email step queues it (plus a Message-ID, which older rows carried)."""
    return {
        "to": to,
        "subject": "Hello Ada",
        "text": "Hi Ada,\nwelcome.",
        "body": "<p>Hi Ada,<br>welcome.</p>",
        **kw,
    }


# --------------------------------------------------------------------------- email


def test_email_arrives_once_with_message_id_from_the_payload(
    db: t.Any, smtp_sink: SmtpSink
) -> None:
    _, _, factory = db
    rid = add_row(factory, "run:1:step:t1", "email", email(message_id="<abc123@stagecraft>"))
    config = cfg(smtp_url=smtp_sink.url)

    assert relay_outbox(factory, worker_id="w1", config=config, now=NOW) == 1
    assert relay_outbox(factory, worker_id="w1", config=config, now=NOW + timedelta(hours=1)) == 0

    assert len(smtp_sink.messages) == 1
    msg = smtp_sink.messages[0]
    assert msg["Message-ID"] == "<abc123@stagecraft>"
    assert msg["X-Stagecraft-Key"] == "run:1:step:t1"
    assert msg["From"] == "campaigns@stagecraft.test"
    assert msg["To"] == "ada@example.com"
    assert msg["Subject"] == "Hello Ada"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and "welcome." in text.get_content()
    assert html is not None and "<p>Hi Ada,<br>welcome.</p>" in html.get_content()
    assert smtp_sink.envelopes == [("campaigns@stagecraft.test", ["ada@example.com"])]
    stored = row(factory, rid)
    assert (stored.status, stored.attempts, stored.last_error, stored.lease_owner) == (
        "sent",
        1,
        None,
        None,
    )
    assert stored.sent_at == NOW


def test_email_message_id_is_derived_from_the_key_without_one(
    db: t.Any, smtp_sink: SmtpSink
) -> None:
    _, _, factory = db
    add_row(factory, "run:7:step:t2", "email", email())
    relay_outbox(factory, worker_id="w1", config=cfg(smtp_url=smtp_sink.url), now=NOW)
    assert smtp_sink.message_ids() == {"<run.7.step.t2@stagecraft>": 1}
    assert message_id_for("run:7:step:t2") == "<run.7.step.t2@stagecraft>"


def test_email_html_only_gets_a_text_part(db: t.Any, smtp_sink: SmtpSink) -> None:
    _, _, factory = db
    add_row(
        factory,
        "k-html",
        "email",
        {"to": "a@example.com", "subject": "s", "body": "<p>One &amp; two</p>"},
    )
    relay_outbox(factory, worker_id="w1", config=cfg(smtp_url=smtp_sink.url), now=NOW)
    text = smtp_sink.messages[0].get_body(("plain",))
    assert text is not None and text.get_content().strip() == "One & two"


def test_emails_are_held_pending_without_smtp_then_sent_once_configured(
    db: t.Any, smtp_sink: SmtpSink
) -> None:
    _, _, factory = db
    rid = add_row(factory, "run:1:step:t1", "email", email())
    assert relay_outbox(factory, worker_id="w1", config=cfg(smtp_url=None), now=NOW) == 0
    held = row(factory, rid)
    assert (held.status, held.attempts, held.last_error) == ("pending", 0, HELD_NOTE)
    assert relay_outbox(factory, worker_id="w1", config=cfg(smtp_url=smtp_sink.url), now=NOW) == 1
    assert row(factory, rid).status == "sent"
    assert len(smtp_sink.messages) == 1


def test_smtp_4xx_is_retried_with_the_same_message_id(db: t.Any, smtp_sink: SmtpSink) -> None:
    _, _, factory = db
    smtp_sink.replies = ["451 4.3.0 try again later"]
    rid = add_row(factory, "run:2:step:t1", "email", email())
    config = cfg(smtp_url=smtp_sink.url)
    relay_outbox(factory, worker_id="w1", config=config, now=NOW)
    first = row(factory, rid)
    assert (first.status, first.attempts) == ("pending", 1)
    assert first.next_attempt_at == NOW + timedelta(seconds=delivery.retry_delay(1))
    assert "451" in (first.last_error or "")
    assert relay_outbox(factory, worker_id="w1", config=config, now=NOW + timedelta(seconds=1)) == 0
    relay_outbox(factory, worker_id="w1", config=config, now=first.next_attempt_at)
    assert row(factory, rid).status == "sent"
    assert smtp_sink.message_ids() == {"<run.2.step.t1@stagecraft>": 1}


def test_smtp_5xx_fails_without_retry(db: t.Any, smtp_sink: SmtpSink) -> None:
    _, _, factory = db
    smtp_sink.replies = ["554 5.7.1 rejected"]
    rid = add_row(factory, "run:3:step:t1", "email", email())
    relay_outbox(factory, worker_id="w1", config=cfg(smtp_url=smtp_sink.url), now=NOW)
    failed = row(factory, rid)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert "554" in (failed.last_error or "")


def test_unreachable_smtp_server_is_retried_with_backoff(db: t.Any) -> None:
    _, _, factory = db
    rid = add_row(factory, "run:4:step:t1", "email", email())
    relay_outbox(
        factory, worker_id="w1", config=cfg(smtp_url=f"smtp://127.0.0.1:{free_port()}"), now=NOW
    )
    stored = row(factory, rid)
    assert (stored.status, stored.attempts, stored.lease_owner) == ("pending", 1, None)
    assert stored.next_attempt_at == NOW + timedelta(seconds=15)
    assert "SMTP connection" in (stored.last_error or "")


def test_email_without_recipient_or_with_a_forged_header_fails(
    db: t.Any, smtp_sink: SmtpSink
) -> None:
    _, _, factory = db
    a = add_row(factory, "k-no-to", "email", email(to=""))
    b = add_row(factory, "k-forged", "email", email(subject="Hi\r\nBcc: victim@example.com"))
    relay_outbox(factory, worker_id="w1", config=cfg(smtp_url=smtp_sink.url), now=NOW)
    assert row(factory, a).status == "failed" and "recipient" in (row(factory, a).last_error or "")
    assert row(factory, b).status == "failed" and "header" in (row(factory, b).last_error or "")
    assert smtp_sink.messages == []


def test_one_smtp_connection_serves_a_batch(db: t.Any, smtp_sink: SmtpSink) -> None:
    _, _, factory = db
    for i in range(5):
        add_row(factory, f"run:{i}:step:t1", "email", email(to=f"p{i}@example.com"))
    assert relay_outbox(factory, worker_id="w1", config=cfg(smtp_url=smtp_sink.url), now=NOW) == 5
    assert len(smtp_sink.message_ids()) == 5


# --------------------------------------------------------------------------- HTTP


def test_webhook_posts_json_with_the_idempotency_key(db: t.Any, http_sink: HttpSink) -> None:
    _, _, factory = db
    rid = add_row(
        factory,
        "run:1:step:t2",
        "http_post",
        {"url": http_sink.url("/hook"), "json": {"a": 1, "b": "x"}},
    )
    assert relay_outbox(factory, worker_id="w1", config=cfg(), now=NOW) == 1
    [req] = http_sink.requests
    assert req["path"] == "/hook"
    assert req["json"] == {"a": 1, "b": "x"}
    assert req["headers"]["idempotency-key"] == "run:1:step:t2"
    assert req["headers"]["content-type"] == "application/json"
    assert row(factory, rid).status == "sent"


def test_webhook_503_then_200_is_retried_with_backoff_and_the_same_key(
    db: t.Any, http_sink: HttpSink
) -> None:
    _, _, factory = db
    http_sink.statuses = [503]
    rid = add_row(factory, "run:5:step:t1", "http_post", {"url": http_sink.url(), "json": {"n": 5}})
    config = cfg()
    relay_outbox(factory, worker_id="w1", config=config, now=NOW)
    first = row(factory, rid)
    assert (first.status, first.attempts) == ("pending", 1)
    assert "HTTP 503" in (first.last_error or "")
    assert first.next_attempt_at == NOW + timedelta(seconds=15)
    assert (
        relay_outbox(factory, worker_id="w1", config=config, now=NOW + timedelta(seconds=14)) == 0
    )
    assert (
        relay_outbox(factory, worker_id="w1", config=config, now=NOW + timedelta(seconds=15)) == 1
    )
    done = row(factory, rid)
    assert (done.status, done.attempts, done.last_error) == ("sent", 2, None)
    assert [r["answered"] for r in http_sink.requests] == [503, 200]
    assert http_sink.keys() == {"run:5:step:t1": 2}


def test_webhook_backoff_grows_exponentially(db: t.Any, http_sink: HttpSink) -> None:
    _, _, factory = db
    http_sink.statuses = [500, 502, 504]
    rid = add_row(factory, "k-exp", "http_post", {"url": http_sink.url(), "json": {}})
    moment, delays = NOW, []
    for _ in range(3):
        relay_outbox(factory, worker_id="w1", config=cfg(max_attempts=10), now=moment)
        nxt = row(factory, rid).next_attempt_at
        delays.append((nxt - moment).total_seconds())
        moment = nxt
    assert delays == [15, 30, 60]
    relay_outbox(factory, worker_id="w1", config=cfg(max_attempts=10), now=moment)
    assert row(factory, rid).status == "sent"


def test_webhook_429_honours_retry_after(db: t.Any, http_sink: HttpSink) -> None:
    _, _, factory = db
    http_sink.statuses = [(429, {"Retry-After": "120"})]
    rid = add_row(factory, "k-429", "http_post", {"url": http_sink.url(), "json": {}})
    relay_outbox(factory, worker_id="w1", config=cfg(), now=NOW)
    stored = row(factory, rid)
    assert stored.status == "pending"
    assert stored.next_attempt_at == NOW + timedelta(seconds=120)


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_webhook_4xx_fails_without_retry(db: t.Any, http_sink: HttpSink, status: int) -> None:
    _, _, factory = db
    http_sink.statuses = [status]
    rid = add_row(factory, f"k-{status}", "http_post", {"url": http_sink.url(), "json": {}})
    relay_outbox(factory, worker_id="w1", config=cfg(), now=NOW)
    stored = row(factory, rid)
    assert (stored.status, stored.attempts) == ("failed", 1)
    assert f"HTTP {status}" in (stored.last_error or "")
    assert relay_outbox(factory, worker_id="w1", config=cfg(), now=NOW + timedelta(days=1)) == 0
    assert len(http_sink.requests) == 1


def test_webhook_408_is_retried(db: t.Any, http_sink: HttpSink) -> None:
    _, _, factory = db
    http_sink.statuses = [408]
    rid = add_row(factory, "k-408", "http_post", {"url": http_sink.url(), "json": {}})
    relay_outbox(factory, worker_id="w1", config=cfg(), now=NOW)
    assert row(factory, rid).status == "pending"


def test_webhook_redirect_is_not_followed(db: t.Any, http_sink: HttpSink) -> None:
    _, _, factory = db
    http_sink.statuses = [(302, {"Location": "http://169.254.169.254/latest/meta-data"})]
    rid = add_row(factory, "k-302", "http_post", {"url": http_sink.url(), "json": {}})
    relay_outbox(factory, worker_id="w1", config=cfg(), now=NOW)
    stored = row(factory, rid)
    assert stored.status == "failed" and "redirects are not followed" in (stored.last_error or "")
    assert len(http_sink.requests) == 1


def test_webhook_gives_up_after_max_attempts(db: t.Any, http_sink: HttpSink) -> None:
    _, _, factory = db
    http_sink.statuses = [500, 500, 500]
    rid = add_row(factory, "k-max", "http_post", {"url": http_sink.url(), "json": {}})
    moment = NOW
    for _ in range(3):
        relay_outbox(factory, worker_id="w1", config=cfg(max_attempts=3), now=moment)
        moment += timedelta(hours=2)
    stored = row(factory, rid)
    assert (stored.status, stored.attempts) == ("failed", 3)
    assert (stored.last_error or "").startswith("gave up after 3 attempts")
    assert len(http_sink.requests) == 3


def test_webhook_timeout_is_retried(db: t.Any, http_sink: HttpSink) -> None:
    _, _, factory = db
    http_sink.delay = 1.0
    rid = add_row(factory, "k-slow", "http_post", {"url": http_sink.url(), "json": {}})
    relay_outbox(factory, worker_id="w1", config=cfg(http_timeout=0.2), now=NOW)
    stored = row(factory, rid)
    assert stored.status == "pending" and "timed out" in (stored.last_error or "")


def test_connection_refused_is_retried(db: t.Any) -> None:
    _, _, factory = db
    rid = add_row(
        factory, "k-refused", "http_post", {"url": f"http://127.0.0.1:{free_port()}/", "json": {}}
    )
    relay_outbox(factory, worker_id="w1", config=cfg(), now=NOW)
    assert row(factory, rid).status == "pending"


def test_non_http_url_fails(db: t.Any) -> None:
    _, _, factory = db
    rid = add_row(factory, "k-ftp", "http_post", {"url": "file:///etc/passwd", "json": {}})
    relay_outbox(factory, worker_id="w1", config=cfg(), now=NOW)
    assert row(factory, rid).status == "failed"


# --------------------------------------------------------------------------- private addresses


def test_loopback_destination_is_refused_by_default(db: t.Any, http_sink: HttpSink) -> None:
    _, _, factory = db
    rid = add_row(factory, "k-private", "http_post", {"url": http_sink.url(), "json": {}})
    assert relay_outbox(factory, worker_id="w1", config=cfg(allow_private_http=False), now=NOW) == 1
    stored = row(factory, rid)
    assert (stored.status, stored.attempts) == ("failed", 1)
    assert "refused" in (stored.last_error or "") and "loopback" in (stored.last_error or "")
    assert "STAGECRAFT_HTTP_ALLOW_PRIVATE" in (stored.last_error or "")
    assert http_sink.requests == []


def test_localhost_by_name_is_refused(db: t.Any, http_sink: HttpSink) -> None:
    _, _, factory = db
    rid = add_row(
        factory,
        "k-localhost",
        "http_post",
        {"url": f"http://localhost:{http_sink.port}/", "json": {}},
    )
    relay_outbox(factory, worker_id="w1", config=cfg(allow_private_http=False), now=NOW)
    assert row(factory, rid).status == "failed"
    assert http_sink.requests == []


def test_private_destination_allowed_when_configured(db: t.Any, http_sink: HttpSink) -> None:
    _, _, factory = db
    rid = add_row(factory, "k-allowed", "http_post", {"url": http_sink.url(), "json": {}})
    relay_outbox(factory, worker_id="w1", config=cfg(allow_private_http=True), now=NOW)
    assert row(factory, rid).status == "sent"
    assert len(http_sink.requests) == 1


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("172.16.5.4", "private"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not globally routable"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
    ],
)
def test_check_destination_refuses_non_public_addresses(host: str, reason: str) -> None:
    with pytest.raises(RefusedDestination, match=reason):
        check_destination(host, 443)


@pytest.mark.parametrize("host", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_check_destination_allows_public_addresses(host: str) -> None:
    check_destination(host, 443)


def test_unresolvable_host_is_transient() -> None:
    with pytest.raises(TransientError, match="cannot resolve"):
        check_destination("no-such-host.invalid", 443)
    assert issubclass(RefusedDestination, PermanentError)


# --------------------------------------------------------------------------- leases, notices


def test_a_leased_row_is_not_claimed_by_another_relay(db: t.Any, http_sink: HttpSink) -> None:
    _, _, factory = db
    rid = add_row(factory, "k-lease", "http_post", {"url": http_sink.url(), "json": {}})
    config = cfg(lease_seconds=60)
    claimed = delivery.claim_outbox(factory, worker_id="dead-worker", config=config, now=NOW)
    assert [c.id for c in claimed] == [rid]
    assert row(factory, rid).lease_owner == "dead-worker"
    # The claimer "died" before sending: while its lease holds, nobody else sends.
    assert (
        relay_outbox(factory, worker_id="w2", config=config, now=NOW + timedelta(seconds=59)) == 0
    )
    assert http_sink.requests == []
    # After the lease expires the row is claimable again: nothing is lost.
    assert (
        relay_outbox(factory, worker_id="w2", config=config, now=NOW + timedelta(seconds=60)) == 1
    )
    assert row(factory, rid).status == "sent"
    assert http_sink.keys() == {"k-lease": 1}


def test_future_rows_wait_and_order_is_oldest_first(db: t.Any, http_sink: HttpSink) -> None:
    _, _, factory = db
    add_row(
        factory,
        "later",
        "http_post",
        {"url": http_sink.url(), "json": {}},
        at=NOW + timedelta(minutes=5),
    )
    add_row(
        factory,
        "b",
        "http_post",
        {"url": http_sink.url(), "json": {}},
        at=NOW - timedelta(minutes=1),
    )
    add_row(
        factory,
        "a",
        "http_post",
        {"url": http_sink.url(), "json": {}},
        at=NOW - timedelta(minutes=2),
    )
    # Claimed oldest first; one posting thread so the arrival order shows it (several post at once).
    assert relay_outbox(factory, worker_id="w1", config=cfg(http_parallel=1), now=NOW) == 2
    assert [r["headers"]["idempotency-key"] for r in http_sink.requests] == ["a", "b"]


def test_batch_size_bounds_a_relay_pass(db: t.Any, http_sink: HttpSink) -> None:
    _, _, factory = db
    for i in range(5):
        add_row(factory, f"k{i}", "http_post", {"url": http_sink.url(), "json": {}})
    assert relay_outbox(factory, worker_id="w1", config=cfg(batch_size=3), now=NOW) == 3
    assert relay_outbox(factory, worker_id="w1", config=cfg(batch_size=3), now=NOW) == 2


def test_status_changes_are_announced_after_commit(db: t.Any, http_sink: HttpSink, committed: list[t.Any]) -> None:
    from models import contacts

    _, _, factory = db
    with transaction(factory) as session:
        contact_id = contacts.create_contact(session, ADMIN, "ann@example.com").id
    add_row(
        factory, "k-ann", "http_post", {"url": http_sink.url(), "json": {}}, contact_id=contact_id
    )
    relay_outbox(factory, worker_id="w1", config=cfg(), now=NOW)
    outbox = [e for e in committed if isinstance(e, OutboxChanged)]
    assert len(outbox) == 1
    assert outbox[0].contact_id == contact_id
    assert outbox[0].status == "sent" and outbox[0].idempotency_key == "k-ann"


def test_unknown_kind_fails(db: t.Any) -> None:
    _, _, factory = db
    rid = add_row(factory, "k-sms", "sms", {"to": "+1"})
    relay_outbox(factory, worker_id="w1", config=cfg(), now=NOW)
    assert row(factory, rid).status == "failed"


def test_parse_smtp_url() -> None:
    plain = parse_smtp_url("smtp://mail.example.com:2525")
    assert (plain.host, plain.port, plain.ssl, plain.starttls, plain.username) == (
        "mail.example.com",
        2525,
        False,
        False,
        None,
    )
    secure = parse_smtp_url("smtps://u%40x:p%3Aw@mail.example.com")
    assert (secure.port, secure.ssl, secure.username, secure.password) == (465, True, "u@x", "p:w")
    assert parse_smtp_url("smtp://h?starttls=1").starttls is True
    with pytest.raises(ValueError):
        parse_smtp_url("http://h")


def test_rows_are_left_unleased_after_a_pass(db: t.Any, http_sink: HttpSink) -> None:
    _, _, factory = db
    http_sink.statuses = [500]
    add_row(factory, "k-x", "http_post", {"url": http_sink.url(), "json": {}})
    add_row(factory, "k-y", "http_post", {"url": http_sink.url(), "json": {}})
    relay_outbox(factory, worker_id="w1", config=cfg(), now=NOW)
    with factory() as session:
        assert session.scalars(select(OutboxMessage.lease_owner)).all() == [None, None]


def test_an_unexpected_error_counts_as_an_attempt_and_frees_the_row(
    db: t.Any, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, factory = db

    def broken(*args: t.Any, **kw: t.Any) -> t.Any:
        raise TypeError("a bug")

    monkeypatch.setattr(smtp, "render", broken)
    rid = add_row(factory, "k-bug", "email", email())
    relay_outbox(
        factory, worker_id="w1", config=cfg(smtp_url=smtp_sink.url, max_attempts=1), now=NOW
    )
    stored = row(factory, rid)
    assert (stored.status, stored.attempts, stored.lease_owner) == ("failed", 1, None)
    assert "TypeError: a bug" in (stored.last_error or "")


def test_error_bodies_are_quoted_briefly(db: t.Any, http_sink: HttpSink) -> None:
    _, _, factory = db
    http_sink.statuses = [400]
    rid = add_row(factory, "k-body", "http_post", {"url": http_sink.url(), "json": {}})
    relay_outbox(factory, worker_id="w1", config=cfg(), now=NOW)
    assert (
        row(factory, rid).last_error == f'HTTP 400 from {http_sink.url()}: {{"error": "scripted"}}'
    )
