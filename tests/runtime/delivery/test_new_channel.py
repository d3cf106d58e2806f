"""A new channel is one catalog class plus one transport, registered without editing any other file.

The step and the transport below exist only in this test: a campaign uses the
step, the step loop queues its outbox row through the generic
``StepContext.enqueue``, and the relay hands it to the transport.
"""

from __future__ import annotations

import typing as t
from collections.abc import Iterator
from collections.abc import Mapping
from datetime import datetime

import pytest
from pydantic import BaseModel
from sqlalchemy import select

from models import OutboxMessage
from models.contacts import apply_tag
from runtime.config import RuntimeConfig
from runtime.delivery.base import Claimed
from runtime.delivery.base import register_transport
from runtime.delivery.base import unregister_transport
from runtime.delivery.relay import relay_outbox
from runtime.graphs.catalog import catalog_json
from runtime.graphs.catalog import unregister
from runtime.graphs.catalog.base import ActionStep
from runtime.graphs.catalog.base import register_step
from runtime.graphs.catalog.fields import ConfigModel
from runtime.graphs.catalog.fields import merge_text_field
from runtime.graphs.catalog.ports import StepContext
from tests.runtime.engine_fixtures import *  # noqa: F403
from tests.runtime.engine_fixtures import ADMIN
from tests.runtime.engine_fixtures import Env
from tests.runtime.engine_fixtures import goal
from tests.runtime.engine_fixtures import graph
from tests.runtime.engine_fixtures import seq
from tests.runtime.engine_fixtures import step


class SmsConfig(ConfigModel):
    text: str = merge_text_field("Message", min_length=1, max_length=160)


class SendSms(ActionStep[SmsConfig]):
    """Text the contact's phone (a custom field)."""

    type = "send_sms"
    label = "Send SMS"
    help = "Send a text message to the contact's phone."
    icon = "message"
    group = "Communication"
    Config = SmsConfig
    outbox_kind = "sms"

    def execute(self, ctx: StepContext, config: Mapping[str, t.Any] | BaseModel) -> None:
        c = self.parse(config)
        ctx.enqueue("sms", {"to": ctx.contact_field("phone"), "text": ctx.render(c.text)})


class SmsSender:
    def __init__(self, outbox: list[tuple[str, str, str]]) -> None:
        self.outbox = outbox

    def deliver(self, item: Claimed, now: datetime) -> None:
        self.outbox.append((item.key, str(item.payload["to"]), str(item.payload["text"])))

    def close(self) -> None:
        pass


class SmsTransport:
    kind = "sms"
    held_note = ""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def ready(self, config: RuntimeConfig) -> bool:
        return True

    def open(self, config: RuntimeConfig) -> SmsSender:
        return SmsSender(self.sent)


@pytest.fixture
def sms() -> Iterator[SmsTransport]:
    """The SMS step and transport, registered for this test only."""
    register_step(SendSms)
    transport = SmsTransport()
    register_transport(transport)
    yield transport
    unregister("send_sms")
    unregister_transport("sms")


def test_a_new_step_and_transport_deliver_through_the_outbox(env: Env, sms: SmsTransport) -> None:
    """Publish a campaign using the test-only step; its message reaches the test-only transport once."""
    entry = catalog_json()
    assert any(s["type"] == "send_sms" and s["outbox_kind"] == "sms" for s in entry["steps"])
    env.publish(graph([goal("g", "tag_applied", tag="go"),
                       seq("s", step("t1", "send_sms", text="Hi {{contact.first_name}}"))], "g>s"))
    contact = env.contact(fields={"phone": "+15550100"})
    apply_tag(env.session, ADMIN, contact.id, "go")
    env.tick()
    [row] = env.session.scalars(select(OutboxMessage)).all()
    assert (row.kind, row.status, row.payload) == ("sms", "pending", {"to": "+15550100", "text": "Hi Ada"})
    env.session.rollback()  # SQLite: one writer; the relay takes the lock next
    assert relay_outbox(env.factory, worker_id="w", config=env.config) == 1
    assert sms.sent == [(row.idempotency_key, "+15550100", "Hi Ada")]
    env.session.expire_all()
    assert env.session.get(OutboxMessage, row.id).status == "sent"  # type: ignore[union-attr]
    assert env.statuses(contact) == {"s": "completed"}


def test_without_a_transport_the_row_fails_with_a_reason(env: Env, sms: SmsTransport) -> None:
    """An outbox kind nobody delivers is failed, saying why (never silently kept or dropped)."""
    env.publish(graph([goal("g", "tag_applied", tag="go"), seq("s", step("t1", "send_sms", text="Hi"))], "g>s"))
    apply_tag(env.session, ADMIN, env.contact(fields={"phone": "+1"}).id, "go")
    env.tick()
    unregister_transport("sms")
    relay_outbox(env.factory, worker_id="w", config=env.config)
    [row] = env.session.scalars(select(OutboxMessage)).all()
    env.session.refresh(row)
    assert (row.status, row.last_error) == ("failed", "unknown outbox kind 'sms'")
