"""Merge fields: ``{{contact.first_name}}`` style placeholders in step texts.

Invariants:
    * Rendering is plain regex substitution: no template language, no
      expression evaluation, no attribute access on objects. A template can
      only ever read the flat ``values`` mapping it is given.
    * Unknown or missing fields render as the empty string; ``None`` too.
    * With ``html=True`` every substituted value is HTML-escaped (the template
      text itself is the author's and is left as written).
"""

from __future__ import annotations

import html as html_lib
import re
import typing as t
from collections.abc import Mapping

#: Every fixed merge field, with the label the canvas shows in its picker.
MERGE_FIELD_LABELS: dict[str, str] = {
    "contact.first_name": "Contact first name",
    "contact.last_name": "Contact last name",
    "contact.email": "Contact email",
    "opportunity.title": "Opportunity title",
    "opportunity.value": "Opportunity value",
    "opportunity.stage": "Opportunity stage",
    "owner.name": "Owner name",
    "owner.email": "Owner email",
}

KNOWN_MERGE_FIELDS: frozenset[str] = frozenset(MERGE_FIELD_LABELS)

#: Custom contact fields: ``contact.fields.<name>``.
CUSTOM_FIELD_PREFIX = "contact.fields."

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*\}\}")
_CUSTOM_NAME = re.compile(r"[A-Za-z0-9_\-]+")


def is_known_merge_field(name: str) -> bool:
    """Return True for a fixed merge field or a well-formed ``contact.fields.<name>``."""
    if name in KNOWN_MERGE_FIELDS:
        return True
    if name.startswith(CUSTOM_FIELD_PREFIX):
        return _CUSTOM_NAME.fullmatch(name[len(CUSTOM_FIELD_PREFIX) :]) is not None
    return False


def find_merge_fields(text: str) -> list[str]:
    """Return the merge field names used in ``text``, in first-use order, without repeats."""
    if "{{" not in text:  # the common case, far cheaper than the regex
        return []
    seen: dict[str, None] = {}
    for match in _PLACEHOLDER.finditer(text):
        seen.setdefault(match.group(1), None)
    return list(seen)


def unknown_merge_fields(text: str) -> list[str]:
    """Return the merge field names in ``text`` that are not known."""
    return [name for name in find_merge_fields(text) if not is_known_merge_field(name)]


def _format(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def render(template: str, values: Mapping[str, object], *, html: bool = False) -> str:
    """Substitute merge fields in ``template``.

    Args:
        template: text with ``{{name}}`` placeholders.
        values: flat mapping from merge field name (``"contact.first_name"``)
            to value.
        html: escape substituted values for an HTML context.

    Returns:
        The rendered text; unknown or missing fields become ``""``.
    """

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        text = _format(values.get(name)) if is_known_merge_field(name) else ""
        return html_lib.escape(text, quote=True) if html else text

    return _PLACEHOLDER.sub(substitute, template)


def merge_fields_json() -> list[dict[str, t.Any]]:
    """Return the merge field list for the catalog (the canvas's insert menu)."""
    out: list[dict[str, t.Any]] = [
        {"name": name, "label": label, "placeholder": "{{" + name + "}}"}
        for name, label in MERGE_FIELD_LABELS.items()
    ]
    out.append(
        {
            "name": CUSTOM_FIELD_PREFIX + "<name>",
            "label": "Contact custom field",
            "placeholder": "{{" + CUSTOM_FIELD_PREFIX + "<name>}}",
            "pattern": True,
        }
    )
    return out
