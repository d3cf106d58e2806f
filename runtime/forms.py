"""A hosted form's submission: checked, matched to a contact, tagged, and reported as `form_submitted`.

Invariants:
    * Nothing is stored unless the whole submission is valid and within the
      sender's rate limit: the checks run before the first write.
    * The contact is found by email, case-insensitively, or created; non-empty
      submitted values update it (an empty field never erases what is known).
    * The `form_submitted` event (``form`` = the slug) goes through the same
      inbound path as an API-reported one (`runtime.inbound`), so a goal
      ``{form: slug}`` matches hosted and API submissions alike.
    * A submission never changes the contact's email status: re-subscribing
      someone who unsubscribed needs more than a form post.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from email_validator import EmailNotValidError
from email_validator import validate_email
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Contact
from models import FormSubmission
from models import WebForm
from models import contacts as contact_rules
from models.access import SYSTEM
from models.errors import Invalid
from models.errors import TooManyRequests
from runtime import inbound

LIMITS = {"email": 254, "first_name": 120, "last_name": 120, "phone": 40}
CUSTOM_LIMIT = 1000
HONEYPOT = "website"


@dataclass(frozen=True)
class Submission:
    """What a valid submission did."""

    contact_id: int
    created: bool


def check_values(form: WebForm, raw: Mapping[str, t.Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The form's values from a submission, and a plain-words message per field that is wrong.

    Unknown keys are ignored (a form on a website may carry extra inputs).
    """
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for spec in form.fields:
        name, label = spec["name"], spec["label"]
        value = raw.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            errors[name] = f"{label}: type text here"
            continue
        value = value.strip()
        limit = LIMITS.get(name, CUSTOM_LIMIT)
        if not value:
            if spec.get("required"):
                errors[name] = f"{label}: this field is required"
            continue
        if len(value) > limit:
            errors[name] = f"{label}: use at most {limit} characters"
            continue
        if "\x00" in value:
            errors[name] = f"{label}: contains a character that cannot be stored"
            continue
        if name == "email":
            try:
                value = validate_email(value, check_deliverability=False).normalized
            except EmailNotValidError:
                errors[name] = f"{label}: enter an email address like name@example.com"
                continue
        values[name] = value
    return values, errors


def rate_limited(session: Session, address_hash: str, limit: tuple[int, int], now: datetime) -> bool:
    """True when the address already made `limit[0]` accepted submissions in the last `limit[1]` seconds."""
    count, seconds = limit
    recent = session.scalar(select(func.count()).select_from(FormSubmission).where(
        FormSubmission.address_hash == address_hash,
        FormSubmission.submitted_at > now - timedelta(seconds=seconds)))
    return int(recent or 0) >= count


def submit(session: Session, form: WebForm, raw: Mapping[str, t.Any], *, address_hash: str,
           limit: tuple[int, int], now: datetime) -> Submission:
    """Accept a submission: contact found or created, tags applied, `form_submitted` recorded.

    Raises:
        TooManyRequests: the sender's address is over its limit (nothing stored).
        Invalid: a field is missing or wrong (``invalid_submission``, details
            ``{"fields": {name: message}}``), or the honeypot was filled
            (``spam_suspected``); nothing stored.
    """
    if str(raw.get(HONEYPOT) or "").strip():
        raise Invalid("This submission looks automated and was not accepted", code="spam_suspected")
    if rate_limited(session, address_hash, limit, now):
        raise TooManyRequests("Too many submissions from your address: please try again in a few minutes")
    values, errors = check_values(form, raw)
    if errors:
        raise Invalid("Please correct the fields marked below", code="invalid_submission",
                      details={"fields": errors})
    email = values["email"].lower()
    custom = {name.removeprefix("fields."): value for name, value in values.items() if name.startswith("fields.")}
    columns = {name: value for name, value in values.items() if name in ("first_name", "last_name", "phone")}
    contact = session.scalar(select(Contact).where(func.lower(Contact.email) == email))
    created = contact is None
    if contact is None:
        contact = contact_rules.create_contact(session, SYSTEM, email, first_name=columns.get("first_name", ""),
                                               last_name=columns.get("last_name", ""), fields=custom,
                                               phone=columns.get("phone", ""))
    else:
        changes: dict[str, t.Any] = dict(columns)
        if custom:
            changes["fields"] = custom
        if changes:
            contact_rules.update_contact(session, SYSTEM, contact.id, changes)
    for tag in form.tags:
        contact_rules.apply_tag(session, SYSTEM, contact.id, tag, source="form")
    inbound.post_event(session, SYSTEM, {"type": "form_submitted", "contact_id": contact.id, "form": form.slug,
                                         "data": values}, source="form")
    session.add(FormSubmission(form_id=form.id, contact_id=contact.id, created_contact=created,
                               address_hash=address_hash, submitted_at=now))
    session.flush()
    return Submission(contact_id=contact.id, created=created)
