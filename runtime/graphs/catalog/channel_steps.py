"""Channel steps: email and webhooks go out through the outbox; a user notification stays in the app.

Invariants:
    * An outside effect is queued with ``ctx.enqueue(outbox_kind, payload)``
      and delivered by the transport registered for that kind.
    * Merge fields render as plain text (``html=False``): the transport owns
      any HTML conversion and escaping.
"""

from __future__ import annotations

import html
import re
import typing as t
from collections.abc import Mapping
from urllib.parse import urlsplit

from pydantic import BaseModel
from pydantic import Field

from runtime.graphs.catalog.base import ActionStep
from runtime.graphs.catalog.base import register_step
from runtime.graphs.catalog.fields import ConfigModel
from runtime.graphs.catalog.fields import merge_text_field
from runtime.graphs.catalog.fields import thaw
from runtime.graphs.catalog.issues import Issue
from runtime.graphs.catalog.issues import issue
from runtime.graphs.catalog.issues import user_issues
from runtime.graphs.catalog.labels import person_label
from runtime.graphs.catalog.labels import short
from runtime.graphs.catalog.ports import NO_NAMES
from runtime.graphs.catalog.ports import Names
from runtime.graphs.catalog.ports import Refs
from runtime.graphs.catalog.ports import StepContext

Cfg = Mapping[str, t.Any] | BaseModel


class SendEmailConfig(ConfigModel):
    subject: str = merge_text_field("Subject", min_length=1, hint="Type the email's subject")
    body: str = merge_text_field("Body", textarea=True, min_length=1, hint="Write the email's text")
    format: t.Literal["text", "html"] = Field(
        "text",
        title="Body format",
        description="Plain text becomes both the text and the HTML part; an HTML body is sanitised. "
        "Links are tracked and an unsubscribe link is added either way.",
        json_schema_extra={"option_labels": {"text": "Plain text", "html": "HTML"}},
    )
    to: t.Literal["contact"] = Field("contact", title="To")


SUPPRESSED_REASONS = {
    "unsubscribed": "not sent: the contact unsubscribed from marketing email",
    "bounced": "not sent: the contact's address bounced",
}


@register_step
class SendEmail(ActionStep[SendEmailConfig]):
    """Queue an email to the contact (delivered by the outbox relay)."""

    type = "send_email"
    label = "Send email"
    help = "Send an email to the contact. Subject and body may use merge fields."
    icon = "mail"
    group = "Communication"
    Config = SendEmailConfig
    outbox_kind = "email"

    def execute(self, ctx: StepContext, config: Cfg) -> None:
        c = self.parse(config)
        status = ctx.contact_field("email_status")
        if isinstance(status, str) and status in SUPPRESSED_REASONS:
            ctx.skip(SUPPRESSED_REASONS[status])
            return
        to, name = ctx.contact_field("email"), ctx.contact_field("name")
        payload: dict[str, t.Any] = {"to": to, "to_name": name, "subject": ctx.render(c.subject)}
        if c.format == "html":
            payload["html"] = ctx.render(c.body, html=True)  # merge values escaped; sanitised when sent
        else:
            payload["text"] = ctx.render(c.body)
        ctx.enqueue("email", payload)

    def links(self, config: Cfg) -> list[str]:
        """The http(s) links in the body as written (offered to the link-clicked goal's panel)."""
        c = self.parse(config)
        text = c.body
        if c.format == "html":
            text = " ".join(html.unescape(h) for h in re.findall(r"href\s*=\s*[\"']([^\"']*)[\"']", c.body, re.I))
        found: list[str] = []
        for url in re.findall(r"https?://[^\s<>\"'`]+", text):
            url = url.rstrip(".,;:!?)]}'\"")
            if "{{" not in url and url not in found:
                found.append(url)
        return found

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        return f"Email “{short(self.parse(config).subject)}”"


class HttpPostConfig(ConfigModel):
    url: str = Field(min_length=1, title="URL", description="http:// or https:// only.")
    payload: dict[str, t.Any] = Field(
        default_factory=dict,
        alias="json",
        title="JSON body",
        description="String values may use merge fields.",
    )


def _render_json(ctx: StepContext, value: object) -> t.Any:
    """Render merge fields in every string leaf of a JSON value."""
    if isinstance(value, str):
        return ctx.render(value)
    if isinstance(value, Mapping):
        return {str(k): _render_json(ctx, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_render_json(ctx, v) for v in value]
    return value


def _json_strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _json_strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _json_strings(v)]
    return []


@register_step
class HttpPost(ActionStep[HttpPostConfig]):
    """POST JSON to an outside URL (through the outbox, with an Idempotency-Key)."""

    type = "http_post"
    label = "HTTP post"
    help = "POST a JSON body to a URL. Delivered once, with an Idempotency-Key header."
    icon = "globe"
    group = "Integrations"
    Config = HttpPostConfig
    outbox_kind = "http_post"

    def execute(self, ctx: StepContext, config: Cfg) -> None:
        c = self.parse(config)
        ctx.enqueue("http_post", {"url": c.url, "json": _render_json(ctx, thaw(c.payload))})

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        return f"POST {short(self.parse(config).url)}"

    def check_values(self, config: Cfg) -> list[Issue]:
        url = self.parse(config).url
        try:
            parts = urlsplit(url)
        except ValueError:  # e.g. "http://[::1" (an unclosed IPv6 literal)
            return [issue("invalid_url", f"url: {url!r} is not an http(s) URL")]
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            return [issue("invalid_url", f"url: {url!r} is not an http(s) URL")]
        return []

    def merge_texts(self, config: Cfg) -> list[tuple[str, str]]:
        c = self.parse(config)
        return [("url", c.url)] + [("json", s) for s in _json_strings(c.payload)]


class NotifyUserConfig(ConfigModel):
    user: t.Literal["owner"] | int = Field(
        "owner", title="User", json_schema_extra={"widget": "assignee"}
    )
    message: str = merge_text_field("Message", textarea=True, min_length=1)


@register_step
class NotifyUser(ActionStep[NotifyUserConfig]):
    """Send an in-app notification to a user."""

    type = "notify_user"
    label = "Notify user"
    help = "Notify the owner or a given user (live on their board)."
    icon = "bell"
    group = "Communication"
    Config = NotifyUserConfig

    def execute(self, ctx: StepContext, config: Cfg) -> None:
        c = self.parse(config)
        ctx.notify_user(c.user, ctx.render(c.message))

    def summary(self, config: Cfg, names: Names = NO_NAMES) -> str:
        c = self.parse(config)
        return f"Notify {person_label(names, c.user)}: “{short(c.message, 24)}”"

    def check_refs(self, config: Cfg, refs: Refs) -> list[Issue]:
        return user_issues(refs, self.parse(config).user, field="user")
