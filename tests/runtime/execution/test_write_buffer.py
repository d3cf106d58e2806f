"""The step loop's write buffer: the common effects as batched rows, with unchanged semantics.

apply_tag (when no live goal can match it), create_task and create_note are
inserted one executemany per table per batch; these tests pin that the rows
are the ones the CRM services write, that a tag which CAN satisfy a goal still
stops and enrolls at once, and that a failing step leaves nothing behind.
"""

from __future__ import annotations

import typing as t
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import Contact
from models import ContactTag
from models import DomainEvent
from models import Note
from models import SequenceRun
from models import Tag
from models import Task
from models import contacts as contact_service
from models import tasks as task_service
from models.access import SYSTEM
from models.contacts import apply_tag
from runtime.execution.buffer import WriteBuffer
from runtime.execution.context import RunContext
from tests.runtime.engine_fixtures import *  # noqa: F403
from tests.runtime.engine_fixtures import ADMIN
from tests.runtime.engine_fixtures import Env
from tests.runtime.engine_fixtures import goal
from tests.runtime.engine_fixtures import graph
from tests.runtime.engine_fixtures import seq
from tests.runtime.engine_fixtures import step


def go_sequence(env: Env, *steps: dict[str, t.Any], name: str = "Campaign") -> None:
    """Publish: tag "go" applied → one sequence "s" of `steps`."""
    env.publish(graph([goal("g", "tag_applied", tag="go"), seq("s", *steps)], "g>s"), name=name)


def tags_of(env: Env, contact: Contact) -> set[str]:
    return set(
        env.session.scalars(
            select(Tag.name).join(ContactTag).where(ContactTag.contact_id == contact.id)
        )
    )


def events_of(env: Env, contact: Contact) -> list[tuple[str, dict[str, t.Any], str]]:
    return [
        (e.type, e.payload, e.source)
        for e in env.session.scalars(
            select(DomainEvent).where(DomainEvent.contact_id == contact.id).order_by(DomainEvent.id)
        )
    ]


def task_rows(env: Env, contact: Contact) -> list[tuple[t.Any, ...]]:
    return [
        (t_.title, t_.description, t_.assignee_id, t_.due_date, t_.opportunity_id, t_.source,
         t_.created_by_id, t_.completed_at, t_.created_at)
        for t_ in env.session.scalars(select(Task).where(Task.contact_id == contact.id))
    ]


def note_rows(env: Env, contact: Contact) -> list[tuple[t.Any, ...]]:
    return [
        (n.body, n.opportunity_id, n.author_id, n.source, n.created_at)
        for n in env.session.scalars(select(Note).where(Note.contact_id == contact.id))
    ]


def test_buffered_rows_equal_what_the_services_write(env: Env) -> None:
    _check_buffered_rows(env)


@pytest.mark.postgres
def test_buffered_rows_equal_what_the_services_write_on_postgresql(pg_env: Env) -> None:
    _check_buffered_rows(pg_env)  # the task insert's RETURNING, batched, on PostgreSQL


def _check_buffered_rows(env: Env) -> None:
    go_sequence(
        env,
        step("a", "apply_tag", tag="welcomed"),
        step("t", "create_task", title="Call {{contact.first_name}}",
             description="d", assignee="owner", due_in_days=1),
        step("n", "create_note", body="Hi {{contact.first_name}}"),
    )
    rep1 = env.ids["rep1"]
    ran = env.contact("ran@example.com", owner_id=rep1)
    apply_tag(env.session, ADMIN, ran.id, "go")
    assert env.tick() == 1
    assert env.runs(ran)[0].status == "completed"

    # The same effects written by hand through the CRM services, for another contact.
    by_hand = env.contact("hand@example.com", owner_id=rep1)
    apply_tag(env.session, ADMIN, by_hand.id, "go")  # enrolls too; its run is not ticked
    contact_service.apply_tag(env.session, SYSTEM, by_hand.id, "welcomed", source="campaign")
    task_service.create_task(
        env.session, SYSTEM, title="Call Ada", description="d", assignee_id=rep1,
        due_date=env.clock.now().date() + timedelta(days=1), contact_id=by_hand.id,
        source="campaign",
    )
    env.session.add(Note(body="Hi Ada", contact_id=by_hand.id, author_id=None,
                         source="campaign", created_at=env.clock.now()))
    env.session.commit()

    assert tags_of(env, ran) == tags_of(env, by_hand) == {"go", "welcomed"}
    assert events_of(env, ran) == events_of(env, by_hand)
    assert events_of(env, ran)[-1] == ("tag_applied", {"tag": "welcomed"}, "campaign")
    assert task_rows(env, ran) == task_rows(env, by_hand) != []
    assert note_rows(env, ran) == note_rows(env, by_hand) != []


def test_a_tag_already_there_is_neither_inserted_nor_an_event(env: Env) -> None:
    go_sequence(env, step("a", "apply_tag", tag="seen"))
    c = env.contact()
    apply_tag(env.session, ADMIN, c.id, "seen")
    apply_tag(env.session, ADMIN, c.id, "go")
    before = events_of(env, c)
    assert env.tick() == 1
    assert events_of(env, c) == before
    assert env.runs(c)[0].status == "completed"


def test_two_runs_of_one_contact_in_a_batch_apply_a_tag_once(env: Env) -> None:
    for name in ("A", "B"):
        go_sequence(env, step("a", "apply_tag", tag="seen"), name=name)
    c = env.contact()
    apply_tag(env.session, ADMIN, c.id, "go")
    assert env.tick() == 2
    assert [e for e in events_of(env, c) if e[1] == {"tag": "seen"}] == [
        ("tag_applied", {"tag": "seen"}, "campaign")
    ]


def test_a_tag_step_that_satisfies_a_goal_stops_its_run_and_enrolls_elsewhere(env: Env) -> None:
    # Campaign A: the tag "done" is a goal downstream of s1, so applying it in s1
    # stops s1 (its ancestor) before its note and starts s2.
    env.publish(
        graph(
            [
                goal("g", "tag_applied", tag="go"),
                seq("s1", step("a", "apply_tag", tag="done"), step("n", "create_note", body="late")),
                goal("g2", "tag_applied", tag="done"),
                seq("s2", step("n2", "create_note", body="after done")),
            ],
            "g>s1", "s1>g2", "g2>s2",
        ),
        name="A",
    )
    # Campaign B: "done" is its entry goal.
    env.publish(graph([goal("e", "tag_applied", tag="done"),
                       seq("b", step("nb", "create_note", body="in B"))], "e>b"), name="B")
    # A campaign whose runs only buffer, in the same batches.
    env.publish(graph([goal("g", "tag_applied", tag="go"),
                       seq("q", step("qa", "apply_tag", tag="quiet"),
                           step("qn", "create_note", body="quiet"))], "g>q"), name="C")
    contacts = [env.contact(f"c{i}@example.com") for i in range(3)]
    for c in contacts:
        apply_tag(env.session, ADMIN, c.id, "go")
    env.tick()
    for c in contacts:
        assert env.statuses(c) == {"s1": "stopped", "s2": "completed", "b": "completed",
                                   "q": "completed"}
        assert sorted(r[0] for r in note_rows(env, c)) == ["after done", "in B", "quiet"]
        assert tags_of(env, c) == {"go", "done", "quiet"}
    # Events stay in the order they happened, buffered or not.
    kinds = [(e[0], e[1].get("tag")) for e in events_of(env, contacts[0])]
    assert kinds.index(("tag_applied", "go")) < kinds.index(("tag_applied", "done"))
    assert len(kinds) == 3


def test_a_tag_that_does_not_exist_yet_is_created_by_the_service(env: Env) -> None:
    go_sequence(env, step("a", "apply_tag", tag="brand-new"))
    env.session.execute(Tag.__table__.delete().where(Tag.name == "brand-new"))
    c = env.contact()
    apply_tag(env.session, ADMIN, c.id, "go")
    env.tick()
    assert tags_of(env, c) == {"go", "brand-new"}
    assert events_of(env, c)[-1] == ("tag_applied", {"tag": "brand-new"}, "campaign")


def test_a_failing_step_after_buffered_steps_undoes_only_itself(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    go_sequence(
        env,
        step("a", "apply_tag", tag="seen"),
        step("t", "create_task", title="Call", assignee="owner"),
        step("n", "create_note", body="x"),
    )
    good = env.contact("good@example.com", owner_id=env.ids["rep1"])
    bad = env.contact("bad@example.com", owner_id=env.ids["rep1"])
    original = RunContext.create_note
    fail = {"on": True}

    def picky(ctx: RunContext, body: str) -> None:
        if ctx.contact_id == bad.id and fail["on"]:
            ctx.batch.buffer.add(Note, {"body": "half", "contact_id": bad.id,
                                        "opportunity_id": None, "author_id": None,
                                        "source": "campaign", "created_at": ctx.now})
            raise RuntimeError("no")
        original(ctx, body)

    monkeypatch.setattr(RunContext, "create_note", picky)
    for c in (good, bad):
        apply_tag(env.session, ADMIN, c.id, "go")
    assert env.tick() == 2
    [bad_run] = env.runs(bad)
    assert (env.runs(good)[0].status, bad_run.status, bad_run.step_index) == (
        "completed", "active", 2
    )
    assert note_rows(env, bad) == [] and len(note_rows(env, good)) == 1
    assert len(task_rows(env, bad)) == 1 and tags_of(env, bad) == {"go", "seen"}

    fail["on"] = False
    env.clock.advance(minutes=5)
    assert env.tick() == 1
    assert env.runs(bad)[0].status == "completed"
    assert [r[0] for r in note_rows(env, bad)] == ["x"]
    assert len(task_rows(env, bad)) == 1  # not repeated
    assert [e for e in events_of(env, bad) if e[1] == {"tag": "seen"}] == [
        ("tag_applied", {"tag": "seen"}, "campaign")
    ]


def test_a_row_the_database_refuses_fails_only_its_run(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error at the batch's final insert sends the batch to the careful pass."""
    go_sequence(env, step("n", "create_note", body="x"))
    good, bad = env.contact("good@example.com"), env.contact("bad@example.com")
    original = RunContext.create_note

    def dangling(ctx: RunContext, body: str) -> None:
        original(ctx, body)
        if ctx.contact_id == bad.id:  # a foreign key SQLite refuses at insert time
            ctx.batch.buffer.rows[Note][-1]["opportunity_id"] = 999_999

    monkeypatch.setattr(RunContext, "create_note", dangling)
    for c in (good, bad):
        apply_tag(env.session, ADMIN, c.id, "go")
    assert env.tick() == 2
    assert len(note_rows(env, good)) == 1 and note_rows(env, bad) == []
    bad_run = env.session.scalars(select(SequenceRun).where(SequenceRun.contact_id == bad.id)).one()
    assert bad_run.attempts == 1 and "IntegrityError" in (bad_run.last_error or "")


def test_write_buffer_discard_forgets_rows() -> None:
    buffer = WriteBuffer(t.cast(t.Any, None))
    buffer.add(Note, {"opportunity_id": 3})
    buffer.add(ContactTag, {"contact_id": 1, "tag_id": 2})
    assert len(buffer) == 2
    buffer.discard()
    assert len(buffer) == 0 and not buffer.note_opportunities and not buffer.tagged_contacts
