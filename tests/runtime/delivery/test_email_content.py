"""The pure email renderer and the signed tokens: links, sanitising, headers, determinism."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from email import message_from_bytes
from email import policy

import pytest

from runtime.delivery.email_content import BadHeader
from runtime.delivery.email_content import links
from runtime.delivery.email_content import render_email
from runtime.delivery.email_content import sanitize_html
from runtime.delivery.tracking import PublicLinks
from runtime.delivery.tracking import sign
from runtime.delivery.tracking import verify
from runtime.faults import armed
from runtime.graphs.catalog import step_type
from tests.runtime.conftest import RecordingContext

SECRET = b"s3cret"
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PUBLIC = PublicLinks("https://mail.example.com", SECRET, "AbCdEfGhIjKlMnOp")


def parse(raw: bytes) -> tuple[str, str, object]:
    message = message_from_bytes(raw, policy=policy.default)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content()), message


@pytest.mark.parametrize(("text", "expected"), [
    ("see https://a.example/x.", ["https://a.example/x"]),
    ("(see https://a.example/x)then", ["https://a.example/x"]),
    ("wiki https://en.example/Foo_(bar) ok", ["https://en.example/Foo_(bar)"]),
    ("twice https://a.example https://a.example, and http://b.example/?q=1&r=2!", ["https://a.example",
                                                                                   "http://b.example/?q=1&r=2"]),
    ("no scheme www.example.com or ftp://x.example", []),
])
def test_links_of_a_text_body(text: str, expected: list[str]) -> None:
    assert links({"text": text}) == expected


def test_links_of_an_html_body_are_the_hrefs_left_after_sanitising() -> None:
    html = ('<a href="https://a.example/?x=1&amp;y=2">a</a><a href="javascript:alert(1)">x</a>'
            '<a href="mailto:me@example.com">m</a><a href="https://a.example/?x=1&amp;y=2">again</a>')
    assert links({"html": html}) == ["https://a.example/?x=1&y=2"]


def test_sanitising_keeps_formatting_and_drops_scripts_handlers_and_bad_styles() -> None:
    clean = sanitize_html('<p style="color:red;position:fixed" onmouseover="x()">Hi <b>there</b>'
                          '<img src="https://a.example/i.png" onerror="x()"><script>alert(1)</script></p>')
    assert clean == '<p style="color:red">Hi <b>there</b><img src="https://a.example/i.png"></p>'


def test_a_text_email_has_both_parts_tracked_links_pixel_and_one_click_headers() -> None:
    rendered = render_email("run:7:step:e1", {"to": "ada@example.com", "to_name": "Ada Lovelace",
                                              "subject": "Grüße, Ada", "text": "Read <this>: https://a.example/x"},
                            mail_from="news@example.com", sent_at=AT, public=PUBLIC)
    text, html, message = parse(rendered.as_bytes())
    click = PUBLIC.click(0)
    assert text.startswith(f"Read <this>: {click}") and "https://a.example/x" not in text
    assert f'Read &lt;this&gt;: <a href="{click}">https://a.example/x</a>' in html
    assert f'<img src="{PUBLIC.pixel()}"' in html
    assert message["Subject"] == "Grüße, Ada" and message["To"] == "Ada Lovelace <ada@example.com>"  # type: ignore[index]
    assert message["List-Unsubscribe"] == f"<{PUBLIC.unsubscribe()}>"  # type: ignore[index]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"  # type: ignore[index]
    assert message["Message-ID"] == "<run.7.step.e1@stagecraft>"  # type: ignore[index]
    again = render_email("run:7:step:e1", {"to": "ada@example.com", "to_name": "Ada Lovelace", "subject": "Grüße, Ada",
                                           "text": "Read <this>: https://a.example/x"},
                         mail_from="news@example.com", sent_at=AT, public=PUBLIC)
    assert again.as_bytes() == rendered.as_bytes()  # a re-send after a crash is the same message


def test_an_untracked_email_has_no_tracking_and_no_unsubscribe_header() -> None:
    rendered = render_email("k", {"to": "a@example.com", "text": "https://a.example"}, mail_from="n@example.com",
                            sent_at=AT, public=None)
    text, html, _ = parse(rendered.as_bytes())
    assert "https://a.example" in text and "/t/o/" not in html and rendered.header("List-Unsubscribe") is None


@pytest.mark.parametrize("payload", [
    {"to": "a@example.com", "subject": "Hi\r\nBcc: victim@example.com", "text": "x"},
    {"to": "a@example.com\nBcc: victim@example.com", "text": "x"},
    {"to": "", "text": "x"},
])
def test_header_injection_and_a_missing_recipient_are_refused(payload: dict[str, str]) -> None:
    with pytest.raises(BadHeader):
        render_email("k", payload, mail_from="n@example.com", sent_at=AT, public=PUBLIC)


def test_tokens_verify_only_unchanged_and_for_their_purpose() -> None:
    token = sign(SECRET, "c", "AbCdEfGhIjKlMnOp", 3)
    claims = verify(SECRET, "c", token)
    assert claims is not None and (claims.public_id, claims.index) == ("AbCdEfGhIjKlMnOp", 3)
    public_id, index, signature = token.split(".")
    assert verify(SECRET, "u", token) is None
    assert verify(b"other", "c", token) is None
    assert verify(SECRET, "c", f"{public_id}.4.{signature}") is None
    assert verify(SECRET, "c", f"{public_id}.03.{signature}") is None
    assert verify(SECRET, "c", f"{public_id}.{index}.{signature[:-2]}") is None
    assert verify(SECRET, "c", "x" * 200) is None


def test_the_send_step_skips_suppressed_contacts_and_offers_its_links(ctx: RecordingContext) -> None:
    send = step_type("send_email")
    config = {"subject": "Hi", "body": "See https://a.example/x and https://a.example/{{contact.email}}."}
    for status, reason in (("unsubscribed", "unsubscribed"), ("bounced", "bounced")):
        ctx.calls.clear()
        ctx.fields["email_status"] = status
        send.execute(ctx, config)  # type: ignore[attr-defined]
        [(name, (text,))] = ctx.calls
        assert name == "skip" and reason in text
    ctx.calls.clear()
    ctx.fields["email_status"] = "subscribed"
    send.execute(ctx, {**config, "format": "html", "body": "<b>{{contact.first_name}}</b>"})  # type: ignore[attr-defined]
    [(name, (kind, payload))] = ctx.calls
    assert (name, kind) == ("enqueue", "email") and "html" in payload and "text" not in payload
    assert send.links(config) == ["https://a.example/x"]  # type: ignore[attr-defined]
    assert send.links({"subject": "s", "format": "html",  # type: ignore[attr-defined]
                       "body": '<a href="https://b.example/?a=1&amp;b=2">b</a>'}) == ["https://b.example/?a=1&b=2"]


def test_fault_points_can_wait_for_the_nth_hit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGECRAFT_FAULT", "after_send@12, after_claim")
    assert armed() == {"after_send": 12, "after_claim": 1}
    monkeypatch.setenv("STAGECRAFT_FAULT", "after_sned@2")
    with pytest.raises(ValueError):
        armed()
