"""Hosted web forms: what a marketer builds (fields mapped to contact columns, tags, thank-you).

Invariants:
    * A form always asks for the email, required: submissions find or create
      their contact by it.
    * Field names are ``email``, ``first_name``, ``last_name``, ``phone`` or
      ``fields.<key>`` (a custom field), each at most once.
    * Names and slugs are unique; the slug is the public address (/f/{slug})
      and the `form` of its `form_submitted` events, so it never changes once
      made (renaming a form keeps its slug, and live goals keep matching).
    * Marketers and admins manage forms; every rule is checked before writing.
"""

from __future__ import annotations

import re
import typing as t
import unicodedata
from urllib.parse import urlsplit

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import FormSubmission
from models import WebForm
from models import clock
from models.access import Actor
from models.access import require_role
from models.contacts import tag_name
from models.errors import Conflict
from models.errors import Invalid
from models.errors import NotFound

COLUMNS = ("email", "first_name", "last_name", "phone")
FIELD_NAME = re.compile(r"^(email|first_name|last_name|phone|fields\.[a-z0-9_]{1,40})$")
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")
MAX_FIELDS = 30
EDITABLE = ("name", "title", "fields", "tags", "submit_label", "thank_you", "redirect_url")


def slugify(text: str) -> str:
    """A URL-safe slug: lower-case ASCII letters, digits and dashes."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:60].strip("-") or "form"


def _check_fields(fields: list[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    if not fields:
        raise Invalid("Add at least the email field to the form", code="invalid_form", details={"field": "fields"})
    if len(fields) > MAX_FIELDS:
        raise Invalid(f"A form has at most {MAX_FIELDS} fields", code="invalid_form", details={"field": "fields"})
    out: list[dict[str, t.Any]] = []
    seen: set[str] = set()
    for spec in fields:
        name = str(spec.get("name") or "").strip()
        label = str(spec.get("label") or "").strip()
        if not FIELD_NAME.match(name):
            raise Invalid(f"“{name}” is not a contact field: use email, first name, last name, phone or a custom "
                          "field (letters, digits and _)", code="invalid_form", details={"field": "fields"})
        if name in seen:
            raise Invalid(f"The form asks for “{label or name}” twice", code="invalid_form",
                          details={"field": "fields"})
        if not label or len(label) > 120:
            raise Invalid(f"Give the “{name}” field a label (up to 120 characters)", code="invalid_form",
                          details={"field": "fields"})
        seen.add(name)
        out.append({"name": name, "label": label, "required": bool(spec.get("required")) or name == "email"})
    if "email" not in seen:
        raise Invalid("The form must ask for the email: contacts are matched by it", code="invalid_form",
                      details={"field": "fields"})
    return out


def _check_redirect(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Invalid("The redirect address must start with http:// or https://", code="invalid_form",
                      details={"field": "redirect_url"})
    return url


def _checked(session: Session, values: dict[str, t.Any], form_id: int | None) -> dict[str, t.Any]:
    out = dict(values)
    if "name" in out:
        name = str(out["name"]).strip()
        if not name:
            raise Invalid("Give the form a name", code="invalid_form", details={"field": "name"})
        clash = session.scalar(select(WebForm.id).where(func.lower(WebForm.name) == name.lower(),
                                                        WebForm.id != (form_id or 0)))
        if clash is not None:
            raise Conflict(f"A form called “{name}” exists already", code="form_name_taken",
                           details={"field": "name"})
        out["name"] = name
    if "fields" in out:
        out["fields"] = _check_fields(list(out["fields"]))
    if "tags" in out:
        out["tags"] = list(dict.fromkeys(tag_name(tag) for tag in out["tags"]))
    if "redirect_url" in out:
        out["redirect_url"] = _check_redirect(out["redirect_url"])
    return out


def _free_slug(session: Session, wanted: str) -> str:
    base = slugify(wanted)
    slug, n = base, 1
    while session.scalar(select(WebForm.id).where(WebForm.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def create_form(session: Session, actor: Actor, values: dict[str, t.Any]) -> WebForm:
    """Create a form; its slug comes from `values["slug"]` or the name.

    Raises:
        Forbidden: not a marketer or admin.
        Invalid: no email field, an unknown field, a bad redirect address, a bad slug.
        Conflict: the name or the slug is taken.
    """
    require_role(actor, "marketer")
    values = _checked(session, {k: v for k, v in values.items() if k in EDITABLE}, None) | {
        "slug": values.get("slug")}
    slug = values.pop("slug")
    if slug:
        if not SLUG.match(slug):
            raise Invalid("The address may use lower-case letters, digits and dashes", code="invalid_form",
                          details={"field": "slug"})
        if session.scalar(select(WebForm.id).where(WebForm.slug == slug)) is not None:
            raise Conflict(f"The address /f/{slug} is taken", code="form_slug_taken", details={"field": "slug"})
    else:
        slug = _free_slug(session, values["name"])
    form = WebForm(slug=slug, created_by_id=actor.user_id, **values)
    session.add(form)
    session.flush()
    return form


def update_form(session: Session, actor: Actor, form_id: int, changes: dict[str, t.Any]) -> WebForm:
    """Change a form (its slug stays)."""
    require_role(actor, "marketer")
    form = get_form(session, form_id)
    for key, value in _checked(session, {k: v for k, v in changes.items() if k in EDITABLE}, form.id).items():
        setattr(form, key, value)
    form.updated_at = clock.now()
    session.flush()
    return form


def delete_form(session: Session, actor: Actor, form_id: int) -> None:
    """Delete a form (its address stops working; contacts and events it made stay)."""
    require_role(actor, "marketer")
    session.delete(get_form(session, form_id))
    session.flush()


def get_form(session: Session, form_id: int) -> WebForm:
    """A form by id, or NotFound."""
    form = session.get(WebForm, form_id)
    if form is None:
        raise NotFound("no such form")
    return form


def read_form(session: Session, actor: Actor, form_id: int) -> WebForm:
    """A form for a marketer or admin, or NotFound."""
    require_role(actor, "marketer")
    return get_form(session, form_id)


def form_by_slug(session: Session, slug: str) -> WebForm:
    """A form by its public slug, or NotFound."""
    form = session.scalar(select(WebForm).where(WebForm.slug == slug)) if SLUG.match(slug) else None
    if form is None:
        raise NotFound("no such form")
    return form


def list_forms(session: Session, actor: Actor) -> list[WebForm]:
    """Every form by name."""
    require_role(actor, "marketer")
    return list(session.scalars(select(WebForm).order_by(func.lower(WebForm.name))))


def submission_counts(session: Session, form_ids: list[int]) -> dict[int, int]:
    """Accepted submissions per form."""
    if not form_ids:
        return {}
    rows = session.execute(select(FormSubmission.form_id, func.count()).where(FormSubmission.form_id.in_(form_ids))
                           .group_by(FormSubmission.form_id))
    return {int(form_id): int(n) for form_id, n in rows}
