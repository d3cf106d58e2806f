"""Campaign set-up shared by the step-runner tests: one sequence, enroll, a contact's run."""

from __future__ import annotations

import typing as t

from models import Contact
from models import SequenceRun
from models.contacts import apply_tag
from tests.runtime.engine_fixtures import ADMIN
from tests.runtime.engine_fixtures import Env
from tests.runtime.engine_fixtures import goal
from tests.runtime.engine_fixtures import graph
from tests.runtime.engine_fixtures import seq


def one_sequence(env: Env, *steps: dict[str, t.Any], tag: str = "go", **kw: t.Any) -> int:
    """Publish tag `tag` → one sequence of `steps`; return the campaign id."""
    return env.publish(graph([goal("g", "tag_applied", tag=tag), seq("s", *steps)], "g>s"), **kw).id


def enroll(env: Env, contact: Contact, tag: str = "go") -> None:
    """Satisfy the entry goal for a contact."""
    apply_tag(env.session, ADMIN, contact.id, tag)


def run_of(env: Env, contact: Contact) -> SequenceRun:
    """The contact's only run."""
    [run] = env.runs(contact)
    return run

