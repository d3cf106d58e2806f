"""Set-based SQL helpers shared by the CRM and the runtime: insert-or-ignore, id chunks, prebuilt statements.

Invariants:
    * One INSERT … ON CONFLICT DO NOTHING builder for SQLite and PostgreSQL.
    * IN lists never exceed `IN_CHUNK` bound values (SQLite allows 32,766,
      PostgreSQL 65,535), whatever the size of the set.
    * Hot statements are built once per process (`prebuilt`): building and
      hashing a statement costs more than running it on SQLite.
"""

from __future__ import annotations

import json
import threading
import typing as t
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence

from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import any_
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy.orm import Session

IN_CHUNK = 5000
_prebuilt: dict[tuple[str, str], t.Any] = {}
_lock = threading.Lock()


def chunks(values: Sequence[t.Any], size: int | None = None) -> Iterator[Sequence[t.Any]]:
    """`values` in slices of at most `size` (default `IN_CHUNK`)."""
    size = size or IN_CHUNK
    for start in range(0, len(values), size):
        yield values[start:start + size]


def dialect(session: Session) -> str:
    """The session's database dialect name ("sqlite" or "postgresql")."""
    return session.get_bind().dialect.name


def insert_or_ignore(dialect_name: str, table: Table | type[t.Any], conflict: Sequence[str]) -> t.Any:
    """An INSERT … ON CONFLICT (conflict) DO NOTHING statement (no values yet) for the dialect."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    return dialect_insert(table).on_conflict_do_nothing(index_elements=list(conflict))


def prebuilt(session: Session, name: str, build: Callable[[str], t.Any]) -> t.Any:
    """The statement `name` for the session's dialect, built once per process by `build(dialect)`."""
    key = (dialect(session), name)
    statement = _prebuilt.get(key)
    if statement is None:
        with _lock:
            statement = _prebuilt.setdefault(key, build(key[0]))
    return statement


def id_table(dialect_name: str, name: str) -> t.Any:
    """A one-column table (`value`) of the integers bound to parameter `name` (see `id_param`).

    ``json_each(:name)`` on SQLite, ``unnest(:name::INTEGER[])`` on PostgreSQL: an
    INSERT … SELECT over it writes any number of rows with one parameter.
    """
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return func.unnest(bindparam(name, type_=ARRAY(Integer))).table_valued("value").render_derived()
    return func.json_each(bindparam(name)).table_valued("value")


def id_param(dialect_name: str, ids: Iterable[int]) -> t.Any:
    """The value to bind to an `id_table` parameter."""
    values = [int(i) for i in ids]
    return values if dialect_name == "postgresql" else json.dumps(values)


def one_of(dialect_name: str, column: t.Any, values: Iterable[t.Any], *, text: bool = False) -> t.Any:
    """``column IN (values)`` with the values bound as ONE parameter (an array or a JSON list).

    A long IN list binds one parameter per value, which PostgreSQL plans slowly
    and SQLite caps; ``= ANY(:array)`` / ``IN (SELECT value FROM json_each(:list))``
    use the column's index just the same.
    """
    values = list(values)
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(literal(values, ARRAY(String if text else Integer)))
    listed = func.json_each(literal(json.dumps(values))).table_valued("value")
    return column.in_(select(listed.c.value).scalar_subquery())
