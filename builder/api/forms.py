"""Hosted web forms: build them, list them, get their public address and embed snippets."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from flask import Blueprint
from pydantic import Field

from builder.api.base import Body
from builder.api.base import route
from builder.db import commit
from builder.db import get_session
from builder.public import form_url
from builder.schemas.common import Out
from models import WebForm
from models import forms as form_service
from models.access import Actor

bp = Blueprint("api_forms", __name__, url_prefix="/api/v1")

FIELD_NAME = r"^(email|first_name|last_name|phone|fields\.[a-z0-9_]{1,40})$"


class FormField(Body):
    name: str = Field(pattern=FIELD_NAME, description="email, first_name, last_name, phone or fields.<key>")
    label: str = Field(min_length=1, max_length=120)
    required: bool = False


class FormCreate(Body):
    name: str = Field(min_length=1, max_length=120)
    fields: list[FormField] = Field(min_length=1, max_length=30)
    tags: list[str] = Field(default_factory=list, max_length=20)
    redirect_url: str | None = Field(default=None, max_length=2000)
    thank_you: str = Field(default="", max_length=2000)
    title: str = Field(default="", max_length=200)
    submit_label: str = Field(default="Submit", min_length=1, max_length=60)
    slug: str | None = Field(default=None, max_length=80, description="the public address /f/{slug} (default: "
                                                                     "from the name)")


class FormPatch(Body):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    fields: list[FormField] | None = Field(default=None, min_length=1, max_length=30)
    tags: list[str] | None = Field(default=None, max_length=20)
    redirect_url: str | None = Field(default=None, max_length=2000)
    thank_you: str | None = Field(default=None, max_length=2000)
    title: str | None = Field(default=None, max_length=200)
    submit_label: str | None = Field(default=None, min_length=1, max_length=60)


class FormFieldOut(Out):
    name: str
    label: str
    required: bool


class EmbedOut(Out):
    iframe: str
    html: str


class FormOut(Out):
    id: int
    name: str
    slug: str
    url: str
    title: str
    fields: list[FormFieldOut]
    tags: list[str]
    submit_label: str
    thank_you: str
    redirect_url: str | None
    submissions: int
    created_at: datetime
    updated_at: datetime
    embed: EmbedOut


def _embed(form: WebForm, url: str) -> dict[str, str]:
    """The iframe snippet and a plain HTML form that posts to the same address."""
    iframe = (f'<iframe src="{escape(url)}" title="{escape(form.title or form.name)}" loading="lazy" '
              'style="width:100%;max-width:600px;min-height:520px;border:0"></iframe>')
    kinds = {"email": "email", "phone": "tel"}
    lines = [f'<form method="post" action="{escape(url)}">']
    for i, field in enumerate(form.fields, 1):
        ident = f"sc-{escape(form.slug)}-{i}"
        required = " required" if field.get("required") else ""
        lines.append(f'  <p><label for="{ident}">{escape(field["label"])}</label><br>'
                     f'<input id="{ident}" name="{escape(field["name"])}" type="{kinds.get(field["name"], "text")}"'
                     f"{required}></p>")
    lines.append('  <p style="position:absolute;left:-10000px" aria-hidden="true"><label>Leave empty '
                 '<input name="website" tabindex="-1" autocomplete="off"></label></p>')
    lines.append(f'  <p><button type="submit">{escape(form.submit_label or "Submit")}</button></p>')
    lines.append("</form>")
    return {"iframe": iframe, "html": "\n".join(lines)}


def form_out(form: WebForm, submissions: int) -> dict[str, Any]:
    """A form as JSON, with its public address and snippets."""
    url = form_url(form)
    return FormOut.model_validate({
        "id": form.id, "name": form.name, "slug": form.slug, "url": url, "title": form.title,
        "fields": form.fields, "tags": form.tags, "submit_label": form.submit_label, "thank_you": form.thank_you,
        "redirect_url": form.redirect_url, "submissions": submissions, "created_at": form.created_at,
        "updated_at": form.updated_at, "embed": _embed(form, url),
    }).model_dump(mode="json")


@route(bp, "/forms", response=list[FormOut])
def list_forms(actor: Actor) -> Any:
    """Every hosted form by name (marketers and admins)."""
    session = get_session()
    forms = form_service.list_forms(session, actor)
    counts = form_service.submission_counts(session, [f.id for f in forms])
    return [form_out(f, counts.get(f.id, 0)) for f in forms]


@route(bp, "/forms", ("POST",), body=FormCreate, response=FormOut, status=201)
def create_form(actor: Actor, body: FormCreate) -> Any:
    """Create a hosted form; its public page is /f/{slug}."""
    form = form_service.create_form(get_session(), actor, body.model_dump())
    commit()
    return form_out(form, 0)


@route(bp, "/forms/<int:form_id>", response=FormOut)
def get_form(actor: Actor, form_id: int) -> Any:
    """One hosted form."""
    session = get_session()
    form = form_service.read_form(session, actor, form_id)
    return form_out(form, form_service.submission_counts(session, [form_id]).get(form_id, 0))


@route(bp, "/forms/<int:form_id>", ("PATCH",), body=FormPatch, response=FormOut)
def update_form(actor: Actor, form_id: int, body: FormPatch) -> Any:
    """Change a hosted form (its address stays)."""
    session = get_session()
    form = form_service.update_form(session, actor, form_id, body.model_dump(exclude_unset=True))
    commit()
    return form_out(form, form_service.submission_counts(session, [form_id]).get(form_id, 0))


@route(bp, "/forms/<int:form_id>", ("DELETE",), status=204)
def delete_form(actor: Actor, form_id: int) -> None:
    """Delete a hosted form (contacts and events it made stay)."""
    form_service.delete_form(get_session(), actor, form_id)
    commit()
