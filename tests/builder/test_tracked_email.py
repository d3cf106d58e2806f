"""Campaign emails through a real aiosmtpd server: both MIME parts, tracked links, the pixel, RFC 8058
unsubscribe, suppression (skip), bounces, and the per-step report (DESIGN.md §6.3)."""

from __future__ import annotations

import re
import typing as t
from dataclasses import replace
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from flask import Flask

from builder.runtime_host import runtime_config
from runtime.loops import RuntimeLoops
from tests.builder.conftest import ApiActions
from tests.builder.conftest import error_of
from tests.runtime.relay_fixtures import SmtpSink
from tests.runtime.relay_fixtures import smtp_sink_fixture  # noqa: F401

BODY = "Hi {{contact.first_name}},\nthe guide: https://example.com/guide?a=1&b=2.\nSee you!"
GUIDE = "https://example.com/guide?a=1&b=2"


def campaign(api: ApiActions, steps: list[dict[str, t.Any]], after_click: bool = True) -> int:
    """tag "go" → emails; optionally → link_clicked(GUIDE) → a note."""
    nodes: list[dict[str, t.Any]] = [
        {"id": "g1", "kind": "goal", "type": "tag_applied", "name": "Go", "config": {"tag": "go"},
         "position": {"x": 0, "y": 0}},
        {"id": "s1", "kind": "sequence", "name": "Emails", "position": {"x": 200, "y": 0},
         "steps": steps + [{"id": "wait", "type": "delay", "config": {"amount": 30, "unit": "days"}}]},
    ]
    edges = [{"source": "g1", "target": "s1"}]
    if after_click:
        nodes += [
            {"id": "g2", "kind": "goal", "type": "link_clicked", "name": "Read the guide", "config": {"link": GUIDE},
             "position": {"x": 400, "y": 0}},
            {"id": "s2", "kind": "sequence", "name": "Readers", "position": {"x": 600, "y": 0},
             "steps": [{"id": "n1", "type": "create_note", "config": {"body": "read the guide"}}]},
        ]
        edges += [{"source": "s1", "target": "g2"}, {"source": "g2", "target": "s2"}]
    api.ok("POST", "/tags", {"tag": "go"}, status=201)
    made = api.ok("POST", "/campaigns", {"name": "Guide"}, as_user="marketer", status=201)
    api.ok("PUT", f"/campaigns/{made['id']}/draft", {"graph": {"nodes": nodes, "edges": edges}}, as_user="marketer")
    api.ok("POST", f"/campaigns/{made['id']}/publish", as_user="marketer", status=200)
    return int(made["id"])


def email_step(step_id: str = "e1", body: str = BODY, **config: t.Any) -> dict[str, t.Any]:
    return {"id": step_id, "type": "send_email", "config": {"subject": "The guide", "body": body, **config}}


@pytest.fixture
def loops(app: Flask, smtp_sink: SmtpSink) -> RuntimeLoops:
    """The runtime over the app's database, delivering to the sink with the app's secret and public URL."""
    app.config["PUBLIC_URL"] = "http://localhost"
    base = runtime_config(app)
    config = replace(base, smtp_url=smtp_sink.url)
    return RuntimeLoops(app.extensions["stagecraft_db"].sessions, config)


def run(loops: RuntimeLoops) -> None:
    loops.run_once()
    loops.delivery.stop()


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_a_campaign_email_is_multipart_tracked_and_unsubscribable(
    api: ApiActions, app: Flask, smtp_sink: SmtpSink, loops: RuntimeLoops
) -> None:
    campaign_id = campaign(api, [email_step()])
    contact = api.contact("ada@example.com", first_name="Ada", tags=["go"])
    run(loops)
    [message] = smtp_sink.messages
    assert message.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    assert text.startswith("Hi Ada,") and GUIDE not in text  # the link is rewritten in both parts
    clicks = re.findall(r"http://localhost/t/c/[\w-]+\.\d+\.[\w-]+", text)
    assert len(clicks) == 1 and f'href="{clicks[0]}"' in html
    assert re.search(r'<img src="http://localhost/t/o/[\w-]+\.\d+\.[\w-]+"', html)
    unsubscribe = re.search(r"<(http://localhost/u/[\w-]+\.\d+\.[\w-]+)>", str(message["List-Unsubscribe"]))
    assert unsubscribe and message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe.group(1) in text and unsubscribe.group(1) in html
    [row] = api.ok("GET", f"/outbox?contact_id={contact['id']}", as_user="marketer")
    assert row["status"] == "sent" and str(message["Message-ID"]).startswith("<run.")
    sent = api.ok("GET", f"/outbox/{row['id']}", as_user="marketer")["message"]
    assert sent["headers"]["List-Unsubscribe"] == str(message["List-Unsubscribe"])
    assert sent["text"].replace("\r\n", "\n") == text.replace("\r\n", "\n") and sent["links"] == [GUIDE]

    client = app.test_client()
    before = api.row_counts()
    reply = client.get(path_of(clicks[0]))
    assert (reply.status_code, reply.headers["Location"]) == (302, GUIDE)
    [click] = api.events("link_clicked")
    assert (click["contact_id"], click["payload"]["link"], click["source"]) == (contact["id"], GUIDE, "email")
    assert api.row_counts()["note"] == before["note"]  # the goal started "Readers": its note comes with the tick
    run(loops)
    stats = api.ok("GET", f"/campaigns/{campaign_id}/stats", as_user="marketer")
    assert stats["nodes"]["g2"]["satisfied"] == 1 and stats["nodes"]["s2"]["completed"] == 1

    pixel = re.search(r'<img src="(http://localhost/t/o/[\w-]+\.\d+\.[\w-]+)"', html)
    assert pixel
    for _ in range(2):
        reply = client.get(path_of(pixel.group(1)))
        assert reply.status_code == 200 and reply.mimetype == "image/gif"
    assert len(api.events("email_opened")) == 1  # the first open counts

    page = client.get(path_of(unsubscribe.group(1)))
    assert page.status_code == 200 and "ada@example.com" in page.get_data(as_text=True)
    assert api.ok("GET", f"/contacts/{contact['id']}")["email_status"] == "subscribed"  # GET changes nothing
    one_click = client.post(path_of(unsubscribe.group(1)), data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200 and "unsubscribed" in one_click.get_data(as_text=True)
    assert api.ok("GET", f"/contacts/{contact['id']}")["email_status"] == "unsubscribed"
    [audit] = api.ok("GET", "/audit?action=contact.email_status")
    assert audit["details"]["from"] == "subscribed" and audit["details"]["to"] == "unsubscribed"
    emails = api.ok("GET", f"/campaigns/{campaign_id}/stats", as_user="marketer")["emails"]
    assert emails["e1"] == {"node_id": "s1", "sent": 1, "opened": 1, "clicked": 1, "unsubscribed": 1, "bounced": 0}


def test_a_send_step_for_a_suppressed_contact_is_skipped_and_the_run_goes_on(
    api: ApiActions, smtp_sink: SmtpSink, loops: RuntimeLoops
) -> None:
    campaign(api, [email_step("e1"), {"id": "n0", "type": "create_note", "config": {"body": "after the email"}},
                   email_step("e2", "Second")], after_click=False)
    contact = api.contact("ada@example.com", first_name="Ada")
    api.ok("PUT", f"/contacts/{contact['id']}/email-status", {"status": "unsubscribed", "reason": "asked by phone"})
    api.ok("POST", f"/contacts/{contact['id']}/tags", {"tag": "go"}, status=200)
    run(loops)
    assert smtp_sink.messages == [] and api.count("outbox") == 0
    [history] = api.ok("GET", f"/contacts/{contact['id']}/sequences")
    # The run went on past both emails and parked on the trailing delay.
    assert (history["status"], history["waiting"], history["step_index"]) == ("active", True, 4)
    reasons = {s["step_id"]: s["reason"] for s in history["skipped"]}
    assert reasons == {"e1": "not sent: the contact unsubscribed from marketing email",
                       "e2": "not sent: the contact unsubscribed from marketing email"}
    assert api.count("note") == 1


def test_a_5xx_on_rcpt_marks_the_contact_bounced(api: ApiActions, smtp_sink: SmtpSink, loops: RuntimeLoops) -> None:
    campaign_id = campaign(api, [email_step()], after_click=False)
    smtp_sink.rcpt_replies["gone@example.com"] = "550 5.1.1 no such user"
    contact = api.contact("gone@example.com", first_name="Gone", tags=["go"])
    run(loops)
    assert smtp_sink.messages == []
    [row] = api.ok("GET", f"/outbox?contact_id={contact['id']}", as_user="marketer")
    assert row["status"] == "failed" and "550" in row["last_error"]
    assert api.ok("GET", f"/contacts/{contact['id']}")["email_status"] == "bounced"
    assert api.ok("GET", f"/campaigns/{campaign_id}/stats", as_user="marketer")["emails"]["e1"]["bounced"] == 1


def test_a_4xx_on_rcpt_is_retried_and_does_not_bounce(api: ApiActions, smtp_sink: SmtpSink,
                                                       loops: RuntimeLoops) -> None:
    campaign(api, [email_step()], after_click=False)
    smtp_sink.rcpt_replies["busy@example.com"] = "451 4.2.0 try later"
    contact = api.contact("busy@example.com", tags=["go"])
    run(loops)
    [row] = api.ok("GET", f"/outbox?contact_id={contact['id']}", as_user="marketer")
    assert row["status"] == "pending" and "451" in row["last_error"]
    assert api.ok("GET", f"/contacts/{contact['id']}")["email_status"] == "subscribed"


@pytest.mark.parametrize("kind", ["c", "o", "u"])
def test_a_tampered_token_is_404_and_records_nothing(
    api: ApiActions, app: Flask, smtp_sink: SmtpSink, loops: RuntimeLoops, kind: str
) -> None:
    campaign(api, [email_step()])
    api.contact("ada@example.com", first_name="Ada", tags=["go"])
    run(loops)
    text, html = parts(smtp_sink.messages[0])
    token = re.findall(rf"http://localhost/{'t/' if kind != 'u' else ''}{kind}/([\w-]+\.\d+\.[\w-]+)", text + html)[0]
    public_id, index, signature = token.split(".")
    forged = [
        f"{public_id}.{index}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",  # one character changed
        f"{public_id}.{int(index) + 1}.{signature}",  # another link of the same message
        f"{public_id[:-1]}x.{index}.{signature}",  # another message
        f"{public_id}.{index}",  # truncated
    ]
    client = app.test_client()
    before = api.row_counts()
    prefix = "/u/" if kind == "u" else f"/t/{kind}/"
    for bad in forged:
        for method in ("GET", "POST") if kind == "u" else ("GET",):
            reply = client.open(prefix + bad, method=method)
            assert reply.status_code == 404, (bad, method)
    # a valid token of one purpose is no good for another
    other = "/t/o/" if kind != "o" else "/t/c/"
    assert client.get(other + token).status_code == 404
    assert api.row_counts() == before
    assert api.ok("GET", "/contacts?q=ada")[0]["email_status"] == "subscribed"


def test_html_bodies_are_sanitised_and_their_links_tracked(api: ApiActions, smtp_sink: SmtpSink,
                                                           loops: RuntimeLoops) -> None:
    body = ('<p onclick="steal()">Hello <b>{{contact.first_name}}</b> <a href="https://example.com/x">read</a>'
            '<script>alert(1)</script><a href="javascript:alert(2)">bad</a></p>')
    campaign(api, [email_step(body=body, format="html")], after_click=False)
    api.contact("eve@example.com", first_name="<i>Eve</i>", tags=["go"])
    run(loops)
    text, html = parts(smtp_sink.messages[0])
    assert "<script" not in html and "onclick" not in html and "javascript:" not in html
    assert "&lt;i&gt;Eve&lt;/i&gt;" in html  # merge values are text, never HTML
    assert re.search(r'<a href="http://localhost/t/c/[\w-]+\.\d+\.[\w-]+" rel="noopener">read</a>', html)
    assert "https://example.com/x" not in html and "read (http://localhost/t/c/" in text


def test_email_status_changes_are_audited_and_reps_cannot_resubscribe(api: ApiActions) -> None:
    contact = api.contact("ada@example.com")
    api.ok("PUT", f"/contacts/{contact['id']}/email-status", {"status": "unsubscribed"}, as_user="rep1")
    error_of(api.put(f"/contacts/{contact['id']}/email-status", {"status": "subscribed"}, as_user="rep1"), 403)
    changed = api.ok("PUT", f"/contacts/{contact['id']}/email-status", {"status": "subscribed", "reason": "opted in"},
                     as_user="marketer")
    assert changed["email_status"] == "subscribed"
    audit = api.ok("GET", "/audit?action=contact.email_status")
    assert [(a["details"]["to"], a["actor_id"]) for a in audit][:2] == [("subscribed", api.uid("marketer")),
                                                                        ("unsubscribed", api.uid("rep1"))]
    error_of(api.put(f"/contacts/{contact['id']}/email-status", {"status": "gone"}), 422)
