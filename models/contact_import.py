"""Importing contacts: the mapping of file columns to fields, row checks, and set-based upserts by email.

Invariants:
    * A row is matched to a contact by its email, case-insensitively (emails
      are stored lower case): an existing contact is updated, else one is made.
      A later row with the same email as an earlier one (in the file or the
      same chunk) updates the contact the earlier one made or matched.
    * An empty cell never overwrites a stored value ("no value in the file").
    * A bad row is reported (its row number and a plain message) and skipped;
      it never stops the import. Emails pass the same check as the API's
      (email-validator), through a fast path for ordinary addresses.
    * Custom field cells that are plain numbers (no leading zero, no sign but
      a minus) are stored as numbers, so segment rules compare them as numbers;
      anything else (zip codes, phone numbers) stays text.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass
from dataclasses import field
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from models import Contact
from models import clock
from models.errors import Invalid
from models.sets import chunks
from models.sets import dialect
from models.sets import insert_or_ignore
from models.sets import one_of

CONTACT = t.cast(Table, Contact.__table__)
COLUMN_FIELDS: dict[str, str] = {"email": "Email", "first_name": "First name", "last_name": "Last name",
                                 "timezone": "Time zone"}
CUSTOM = "fields."
MAX_TEXT = 120
MAX_CUSTOM_KEY = 64
_KEY = re.compile(r"[^\"\\\x00-\x1f]{1,64}")
_NUMBER = re.compile(r"-?(0|[1-9][0-9]{0,14})(\.[0-9]{1,10})?")
# Ordinary ASCII addresses email-validator accepts too; anything else is asked of email-validator itself.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]{1,64}(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]{1,64})*"
    r"@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,63})"
)
_SPECIAL_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})
_zones: dict[str, bool] = {}


def target_label(target: str) -> str:
    """A mapping target in plain words ("Email", "Custom field “plan”")."""
    if target.startswith(CUSTOM):
        return f"Custom field “{target[len(CUSTOM):]}”"
    return COLUMN_FIELDS.get(target, target)


def check_mapping(columns: t.Sequence[str], mapping: t.Mapping[str, str | None]) -> dict[str, str]:
    """The mapping {file column: field} with unmapped columns dropped, or Invalid naming what is wrong.

    Raises:
        Invalid: a mapped column is not in the file, a field is unknown or
            mapped twice, or no column is mapped to the email.
    """
    missing = [column for column, target in mapping.items() if target and column not in columns]
    if missing:
        raise Invalid("The file has no column " + ", ".join(f"“{m}”" for m in missing)
                      + ": choose columns from its header", code="missing_columns",
                      details={"field": "mapping", "columns": missing})
    chosen: dict[str, str] = {}
    seen: dict[str, str] = {}
    for column, target in mapping.items():
        if not target:
            continue
        if target not in COLUMN_FIELDS and not (target.startswith(CUSTOM) and _KEY.fullmatch(target[len(CUSTOM):])):
            raise Invalid(f"“{target}” is not a field contacts have; map “{column}” to a contact field or to a "
                          "custom field (fields.<name>)", code="unknown_field",
                          details={"field": "mapping", "column": column})
        if target in seen:
            raise Invalid(f"{target_label(target)} is chosen for both “{seen[target]}” and “{column}”: "
                          "choose it for one column", code="duplicate_field",
                          details={"field": "mapping", "columns": [seen[target], column]})
        seen[target] = column
        chosen[column] = target
    if "email" not in seen:
        raise Invalid("Choose the column that holds the email address (contacts are matched by email)",
                      code="email_not_mapped", details={"field": "mapping"})
    return chosen


def suggest_mapping(columns: t.Sequence[str]) -> dict[str, str | None]:
    """A first guess {column: field or None} from the header's names ("E-mail" → email, "Company" → fields.company)."""
    aliases = {"email": "email", "emailaddress": "email", "mail": "email", "firstname": "first_name",
               "givenname": "first_name", "first": "first_name", "lastname": "last_name", "surname": "last_name",
               "familyname": "last_name", "last": "last_name", "timezone": "timezone", "tz": "timezone"}
    out: dict[str, str | None] = {}
    used: set[str] = set()
    for column in columns:
        squashed = re.sub(r"[^a-z0-9]", "", column.lower())
        target = aliases.get(squashed)
        if target is None and squashed:
            key = re.sub(r"[^a-z0-9]+", "_", column.strip().lower()).strip("_")[:MAX_CUSTOM_KEY]
            target = CUSTOM + key if key else None
        if target in used:
            target = None
        if target:
            used.add(target)
        out[column] = target
    return out


def valid_email(raw: str) -> str | None:
    """The address as stored (stripped, lower case), or None when the API would refuse it."""
    email = raw.strip().lower()
    if not email or len(email) > 254:
        return None
    match = _PLAIN_EMAIL.fullmatch(email)
    if match is not None and match.group(3) not in _SPECIAL_TLDS and len(email.split("@", 1)[0]) <= 64:
        return email
    from email_validator import EmailNotValidError
    from email_validator import validate_email

    try:
        return validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def _zone_ok(name: str) -> bool:
    known = _zones.get(name)
    if known is None:
        try:
            ZoneInfo(name)
            known = True
        except (ZoneInfoNotFoundError, ValueError):
            known = False
        _zones[name] = known
    return known


def custom_value(cell: str) -> t.Any:
    """A custom field cell as stored: a plain number as a number, anything else as text."""
    if _NUMBER.fullmatch(cell):
        return float(cell) if "." in cell else int(cell)
    return cell


@dataclass
class ImportRow:
    """One checked row: the email and the values it sets (empty cells left out)."""

    row: int
    email: str
    columns: dict[str, str] = field(default_factory=dict)
    fields: dict[str, t.Any] = field(default_factory=dict)


def check_row(row: int, cells: t.Mapping[str, str], mapping: t.Mapping[str, str]) -> ImportRow | str:
    """The row's values by field, or what is wrong with it (in plain words)."""
    values: dict[str, str] = {}
    custom: dict[str, t.Any] = {}
    for column, target in mapping.items():
        cell = cells.get(column)
        if cell is None:
            return f"the row has no “{column}” cell (it is shorter than the header)"
        cell = cell.strip()
        if target.startswith(CUSTOM):
            if cell:
                custom[target[len(CUSTOM):]] = custom_value(cell)
        else:
            values[target] = cell
    raw = values.pop("email")
    if not raw:
        return "the email is empty"
    email = valid_email(raw)
    if email is None:
        return f"“{raw[:100]}” is not a valid email address"
    columns: dict[str, str] = {}
    for name, cell in values.items():
        if not cell:
            continue
        if len(cell) > MAX_TEXT:
            return f"{COLUMN_FIELDS[name]} is longer than {MAX_TEXT} characters"
        if name == "timezone" and not _zone_ok(cell):
            return f"“{cell[:64]}” is not a time zone (use an IANA name like Europe/Berlin)"
        columns[name] = cell
    return ImportRow(row, email, columns, custom)


@dataclass
class Upserted:
    """What a chunk of rows did: contact ids touched (in row order, once each) and the counts."""

    contact_ids: list[int]
    created: int
    updated: int


def upsert_contacts(session: Session, rows: t.Sequence[ImportRow]) -> Upserted:
    """Create or update contacts for checked rows, set-wise (a few statements per 5,000 rows).

    Rows with the same email are merged in order (a later row's values win);
    the first row of a new email counts as created, every other as updated.
    """
    merged: dict[str, ImportRow] = {}
    repeats = 0
    for row in rows:
        earlier = merged.get(row.email)
        if earlier is None:
            merged[row.email] = ImportRow(row.row, row.email, dict(row.columns), dict(row.fields))
        else:
            repeats += 1
            earlier.columns.update(row.columns)
            earlier.fields.update(row.fields)
    existing: dict[str, tuple[int, dict[str, t.Any]]] = {}
    emails = list(merged)
    for part in chunks(emails):
        for contact_id, email, fields in session.execute(
            select(CONTACT.c.id, CONTACT.c.email, CONTACT.c.fields).where(
                one_of(dialect(session), CONTACT.c.email, part, text=True))
        ):
            existing[email] = (contact_id, fields or {})
    now = clock.now()
    new = [merged[e] for e in emails if e not in existing]
    if new:
        session.execute(insert_or_ignore(dialect(session), CONTACT, ["email"]), [
            {"email": r.email, "first_name": r.columns.get("first_name", ""),
             "last_name": r.columns.get("last_name", ""), "timezone": r.columns.get("timezone"),
             "fields": r.fields, "owner_id": None, "created_at": now} for r in new])
    changes = [(existing[e][0], merged[e], existing[e][1]) for e in emails if e in existing]
    _update(session, changes)
    ids = dict((e, existing[e][0]) for e in emails if e in existing)
    for part in chunks([r.email for r in new]):
        for contact_id, email in session.execute(select(CONTACT.c.id, CONTACT.c.email)
                                                 .where(one_of(dialect(session), CONTACT.c.email, part, text=True))):
            ids[email] = contact_id
    return Upserted([ids[e] for e in emails if e in ids], created=len(new), updated=len(changes) + repeats)


def _update(session: Session, changes: list[tuple[int, ImportRow, dict[str, t.Any]]]) -> None:
    """UPDATE the existing contacts, grouped by which columns their rows set (one executemany per group)."""
    groups: dict[tuple[str, ...], list[dict[str, t.Any]]] = {}
    for contact_id, row, stored in changes:
        params: dict[str, t.Any] = {"_id": contact_id, **{f"_{k}": v for k, v in row.columns.items()}}
        names = tuple(sorted(row.columns))
        if row.fields:
            params["_fields"] = {**stored, **row.fields}
            names += ("fields",)
        if len(params) > 1:
            groups.setdefault(names, []).append(params)
    for names, params_list in groups.items():
        statement = update(CONTACT).where(CONTACT.c.id == bindparam("_id")).values(
            {name: bindparam(f"_{name}", type_=CONTACT.c[name].type) for name in names})
        session.execute(statement, params_list)

