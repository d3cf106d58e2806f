"""Segments evaluate the rule language in SQL exactly as `rules.evaluate` does in Python (SQLite, PostgreSQL).

Every op on every kind of field is checked against fixed contacts; then a
hypothesis property draws random contacts and random rule sets and holds the
SQL membership equal to the Python evaluator's verdict.
"""

from __future__ import annotations

import typing as t
from collections.abc import Iterator
from datetime import UTC
from datetime import date
from datetime import datetime

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from models import Opportunity
from models.access import Actor
from models.db import make_session_factory
from models.errors import Conflict
from models.errors import Forbidden
from models.errors import Invalid
from models.sets import dialect
from runtime import segments
from runtime.graphs.rule_eval import evaluate
from runtime.graphs.rules import FIELDS
from runtime.graphs.rules import OPS_BY_KIND
from runtime.graphs.rules import check_rules
from runtime.graphs.rules import field_spec
from runtime.graphs.rules import parse_rules
from runtime.segment_sql import CONTACT
from runtime.segment_sql import contacts_where
from tests.runtime.segment_world import STAGES
from tests.runtime.segment_world import TAGS
from tests.runtime.segment_world import USERS
from tests.runtime.segment_world import Deal
from tests.runtime.segment_world import Person
from tests.runtime.segment_world import facts_of
from tests.runtime.segment_world import insert_people
from tests.runtime.segment_world import make_world
from tests.runtime.segment_world import reset_postgres
from tests.runtime.segment_world import sqlite_url

MARKETER = Actor(user_id=None, role="marketer")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A seeded database on SQLite or PostgreSQL for the whole module."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path_factory.mktemp("segments"))
    else:
        from tests.pg_support import fresh_database
        from tests.pg_support import postgres_reachable

        if not postgres_reachable():  # pragma: no cover - no server on this machine
            pytest.skip("PostgreSQL on 127.0.0.1:5432 is unreachable")
        url = fresh_database("stagecraft_segments_test")
        reset_postgres(url)
    engine = make_world(url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(world: Engine) -> Iterator[Session]:
    """A session whose writes are rolled back after the test."""
    s = make_session_factory(world)()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


def members(session: Session, rules: dict[str, t.Any], ids: list[int]) -> list[bool]:
    """For each contact id: does the rule set hold, per SQL."""
    found = set(session.scalars(select(CONTACT.c.id).where(contacts_where(parse_rules(rules), dialect(session)))))
    return [i in found for i in ids]


def verdicts(session: Session, rules: dict[str, t.Any], ids: list[int]) -> list[bool]:
    """For each contact id: does the rule set hold, per the Python evaluator."""
    group = parse_rules(rules)
    return [evaluate(group, facts_of(session, i))[0] for i in ids]


ADA = Person(
    email="ada@example.com", first_name="Ada", last_name="", owner_id=1,
    created_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC), tags=("vip", "news"),
    fields={"company_size": 800, "plan": "Pro", "renewal": "2026-06-01", "notes": None, "ratio": 2.5,
            "active": True, "list": ["a"], "obj": {}},
    deals=(Deal(title="Old deal", value=5.0, stage_id=1),
           Deal(title="Website redesign", value=12500.0, stage_id=2, owner_id=1,
                next_action_date=date(2026, 3, 31))),
    opened=True,
)
BARE = Person(email="bare@example.com")

EACH_OP = [
    ({"field": "tags", "op": "has", "value": "vip"}, True, False),
    ({"field": "tags", "op": "has", "value": "VIP"}, False, False),  # tag names are exact
    ({"field": "tags", "op": "not_has", "value": "vip"}, False, True),
    ({"field": "tags", "op": "empty"}, False, True),
    ({"field": "tags", "op": "not_empty"}, True, False),
    ({"field": "contact.first_name", "op": "eq", "value": "ADA"}, True, False),
    ({"field": "contact.first_name", "op": "ne", "value": "Grace"}, True, True),
    ({"field": "contact.email", "op": "contains", "value": "@EXAMPLE"}, True, True),
    ({"field": "contact.last_name", "op": "empty"}, True, True),
    ({"field": "contact.last_name", "op": "not_empty"}, False, False),
    ({"field": "contact.timezone", "op": "empty"}, True, True),
    ({"field": "contact.owner_id", "op": "eq", "value": 1}, True, False),
    ({"field": "contact.owner_id", "op": "ne", "value": 1}, False, True),
    ({"field": "contact.owner_id", "op": "not_empty"}, True, False),
    ({"field": "contact.created_at", "op": "gte", "value": "2026-01-05"}, True, True),
    ({"field": "contact.created_at", "op": "lt", "value": "2026-01-05"}, False, False),
    ({"field": "contact.created_at", "op": "eq", "value": "2026-01-05"}, True, True),
    ({"field": "opportunity.value", "op": "gte", "value": 10000}, True, False),
    ({"field": "opportunity.value", "op": "gt", "value": 12500}, False, False),
    ({"field": "opportunity.value", "op": "lte", "value": 12500.0}, True, False),
    ({"field": "opportunity.value", "op": "lt", "value": 100}, False, False),
    ({"field": "opportunity.value", "op": "eq", "value": 12500}, True, False),
    ({"field": "opportunity.value", "op": "ne", "value": 5}, True, True),  # the latest deal, not the old one
    ({"field": "opportunity.title", "op": "contains", "value": "REDESIGN"}, True, False),
    ({"field": "opportunity.stage_id", "op": "eq", "value": 2}, True, False),
    ({"field": "opportunity.owner_id", "op": "empty"}, False, True),
    ({"field": "opportunity.next_action_date", "op": "lte", "value": "2026-03-31"}, True, False),
    ({"field": "opportunity.next_action_date", "op": "gt", "value": "2026-03-31"}, False, False),
    ({"field": "opportunity.created_source", "op": "eq", "value": "user"}, True, False),
    ({"field": "email.opened", "op": "eq", "value": True}, True, False),
    ({"field": "email.opened", "op": "eq", "value": False}, False, True),
    ({"field": "email.clicked", "op": "eq", "value": True}, False, False),
    ({"field": "email.clicked", "op": "ne", "value": True}, True, True),
    ({"field": "contact.fields.company_size", "op": "gte", "value": 500}, True, False),
    ({"field": "contact.fields.company_size", "op": "eq", "value": "800"}, True, False),
    ({"field": "contact.fields.ratio", "op": "eq", "value": "2.5"}, True, False),
    ({"field": "contact.fields.ratio", "op": "lt", "value": 3}, True, False),
    ({"field": "contact.fields.plan", "op": "eq", "value": "pro"}, True, False),
    ({"field": "contact.fields.plan", "op": "contains", "value": "R"}, True, False),
    ({"field": "contact.fields.plan", "op": "gt", "value": 3}, False, False),
    ({"field": "contact.fields.renewal", "op": "gt", "value": "2026-05-31"}, True, False),
    ({"field": "contact.fields.renewal", "op": "eq", "value": "2026-06-01T08:00"}, True, False),
    ({"field": "contact.fields.active", "op": "eq", "value": "TRUE"}, True, False),
    ({"field": "contact.fields.active", "op": "eq", "value": True}, False, False),  # yes/no is only ever "ne"
    ({"field": "contact.fields.list", "op": "contains", "value": "a"}, False, False),
    ({"field": "contact.fields.list", "op": "not_empty"}, True, False),
    ({"field": "contact.fields.obj", "op": "empty"}, True, True),
    ({"field": "contact.fields.notes", "op": "empty"}, True, True),
    ({"field": "contact.fields.missing", "op": "not_empty"}, False, False),
    ({"any": [{"field": "tags", "op": "has", "value": "lead"}, {"field": "email.opened", "op": "eq", "value": True}]},
     True, False),
    ({"all": [{"field": "tags", "op": "has", "value": "vip"}, {"field": "contact.owner_id", "op": "empty"}]},
     False, False),
]


@pytest.mark.parametrize(("rule", "ada", "bare"), EACH_OP)
def test_each_op_in_sql(session: Session, rule: dict[str, t.Any], ada: bool, bare: bool) -> None:
    """Every op on every kind of field, in SQL, agrees with the expectation and with the Python evaluator."""
    rules = rule if ("all" in rule or "any" in rule) else {"all": [rule]}
    ids = insert_people(session, [ADA, BARE])
    assert members(session, rules, ids) == [ada, bare]
    assert verdicts(session, rules, ids) == [ada, bare]


@pytest.mark.parametrize(("rule", "ada", "bare"), [
    ({"field": "contact.email_status", "op": "eq", "value": "unsubscribed"}, True, False),
    ({"field": "contact.email_status", "op": "ne", "value": "unsubscribed"}, False, True),
    ({"field": "opportunity.outcome", "op": "eq", "value": "open"}, True, False),
    ({"field": "opportunity.outcome", "op": "ne", "value": "open"}, False, True),
    ({"field": "opportunity.expected_close_date", "op": "lte", "value": "2026-04-30"}, True, False),
    ({"field": "opportunity.expected_close_date", "op": "gt", "value": "2026-04-30"}, False, False),
    ({"field": "opportunity.expected_close_date", "op": "empty"}, False, True),
])
def test_email_status_outcome_and_close_date_in_sql(session: Session, rule: dict[str, t.Any], ada: bool,
                                                    bare: bool) -> None:
    """The columns #12 and #15 added are read in SQL as the Python evaluator reads them."""
    from models import Contact

    ids = insert_people(session, [ADA, BARE])
    session.execute(update(Contact).where(Contact.id == ids[0]).values(email_status="unsubscribed"))
    session.execute(update(Opportunity).where(Opportunity.contact_id == ids[0])
                    .values(expected_close_date=date(2026, 4, 15)))
    session.flush()
    assert members(session, {"all": [rule]}, ids) == [ada, bare]
    assert verdicts(session, {"all": [rule]}, ids) == [ada, bare]


def test_the_latest_open_opportunity_counts(session: Session) -> None:
    """Rules on a deal read the contact's most recent one."""
    ids = insert_people(session, [ADA])
    assert members(session, {"all": [{"field": "opportunity.title", "op": "eq", "value": "Old deal"}]}, ids) == [False]


# --- the property: SQL == Python on random contacts and rule sets ------------------------------------

WORDS = ("ada", "ADA", "Ünal", "STRASSE", "straße", "x", "@example", "pro", "Pro ", "", "2026-06-01",
         "2026-02-30", "2026-06-01x", "0000-01-01", "20260601", "true", "800", "2.5")
ALPHABET = "abcXYZ019 -_.@éÉüÜßøÅçΣσİ"
KEYS = ("plan", "size", "renewal", "notes", "x y")

texts = st.one_of(st.sampled_from(WORDS), st.text(ALPHABET, max_size=8))
numbers = st.one_of(st.integers(-1000, 100000), st.integers(-4000, 40000).map(lambda n: n / 4))
days = st.dates(date(2025, 1, 1), date(2027, 12, 31))
custom_values = st.one_of(st.none(), st.booleans(), numbers, texts, days.map(lambda d: d.isoformat()),
                          st.sampled_from([[], {}, ["a"], {"a": 1}]))
deals = st.builds(Deal, title=texts, value=st.integers(0, 2000000).map(lambda c: c / 100),
                  stage_id=st.sampled_from(STAGES), owner_id=st.sampled_from([None, *USERS]),
                  next_action_date=st.one_of(st.none(), days), created_source=st.sampled_from(["user", "campaign"]))


@st.composite
def people(draw: st.DrawFn) -> list[Person]:
    count = draw(st.integers(1, 4))
    return [Person(
        email=f"p{i}-{draw(st.sampled_from(['a', 'B', 'ü']))}@example.com",
        first_name=draw(texts), last_name=draw(texts),
        timezone=draw(st.one_of(st.none(), st.sampled_from(["Europe/Berlin", "", "UTC"]))),
        owner_id=draw(st.sampled_from([None, *USERS])),
        created_at=datetime.combine(draw(days), datetime.min.time(), UTC).replace(hour=draw(st.integers(0, 23))),
        fields=draw(st.dictionaries(st.sampled_from(KEYS), custom_values, max_size=4)),
        tags=tuple(draw(st.lists(st.sampled_from(TAGS), max_size=3))),
        deals=tuple(draw(st.lists(deals, max_size=2))),
        opened=draw(st.booleans()), clicked=draw(st.booleans()),
    ) for i in range(count)]


def _value_for(kind: str) -> st.SearchStrategy[t.Any]:
    return {
        "tags": st.sampled_from([*TAGS, "vip ", "nobody"]),
        "text": texts.filter(lambda s: bool(s.strip())),
        "number": numbers,
        "id": st.sampled_from([*USERS, *STAGES, 99]),
        "date": days.map(lambda d: d.isoformat()),
        "boolean": st.booleans(),
        "any": st.one_of(numbers, texts.filter(lambda s: bool(s.strip())), days.map(lambda d: d.isoformat()),
                         st.booleans()),
    }[kind]


@st.composite
def a_rule(draw: st.DrawFn) -> dict[str, t.Any]:
    name = draw(st.sampled_from([*FIELDS, *(f"contact.fields.{k}" for k in KEYS)]))
    spec = field_spec(name)
    assert spec is not None
    op = draw(st.sampled_from(OPS_BY_KIND[spec.kind]))
    rule: dict[str, t.Any] = {"field": name, "op": op}
    if op not in ("empty", "not_empty"):
        rule["value"] = draw(st.sampled_from(spec.choices) if spec.choices else _value_for(spec.kind))
    return rule


def groups(depth: int = 0) -> st.SearchStrategy[dict[str, t.Any]]:
    item = a_rule() if depth >= 2 else st.one_of(a_rule(), st.deferred(lambda: groups(depth + 1)))
    return st.builds(lambda mode, items: {mode: items}, st.sampled_from(["all", "any"]),
                     st.lists(item, min_size=1, max_size=3))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(crowd=people(), rules=groups())
def test_sql_equals_python_on_random_contacts_and_rules(session: Session, crowd: list[Person],
                                                        rules: dict[str, t.Any]) -> None:
    """The property: for any contacts and any valid rule set, SQL membership == `rules.evaluate`."""
    if check_rules(rules):
        return  # a value the rule language refuses (e.g. a choice the field does not offer)
    ids = insert_people(session, crowd)
    assert members(session, rules, ids) == verdicts(session, rules, ids)


# --- the segments service -----------------------------------------------------------------------------

def test_segments_are_saved_checked_counted_and_listed(session: Session) -> None:
    ids = insert_people(session, [ADA, BARE])
    vip = {"all": [{"field": "tags", "op": "has", "value": "vip"}]}
    segment = segments.create_segment(session, MARKETER, "  VIPs ", vip)
    assert segment.name == "VIPs" and segment.rules == vip
    assert segments.segment_json(session, segment)["count"] == 1
    assert [c.id for c in segments.matching_contacts(session, segments.segment_group(segment))] == [ids[0]]
    assert segments.matching_ids(session, segments.segment_group(segment), after=ids[0]) == []
    assert segments.count_rules(session, MARKETER, {"any": [{"field": "tags", "op": "empty"}]}) == 1
    with pytest.raises(Conflict):
        segments.create_segment(session, MARKETER, "VIPs", vip)
    with pytest.raises(Invalid) as bad:
        segments.create_segment(session, MARKETER, "Broken", {"all": [{"field": "tags", "op": "gt", "value": 1}]})
    assert bad.value.details["problems"][0]["path"] == "all.0"
    assert "can't be compared" in bad.value.message
    with pytest.raises(Invalid):
        segments.create_segment(session, MARKETER, " ", vip)
    with pytest.raises(Forbidden):
        segments.list_segments(session, Actor(user_id=None, role="rep"))
    renamed = segments.update_segment(session, MARKETER, segment.id, name="Best",
                                      rules={"all": [{"field": "tags", "op": "empty"}]})
    assert renamed.name == "Best" and segments.segment_json(session, renamed)["count"] == 1
    segments.delete_segment(session, MARKETER, segment.id)
    assert segments.list_segments(session, MARKETER) == []
