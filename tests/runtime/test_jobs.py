"""Background jobs: CSV import edge cases, bulk tags firing goals, exports, progress, crashes and failures."""

from __future__ import annotations

import csv
import io
import typing as t
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select

from models import Contact
from models import GoalHit
from models import Job
from models import SequenceRun
from models import events
from models.access import Actor
from models.contacts import apply_tag
from models.errors import Forbidden
from models.errors import Invalid
from runtime import segments
from runtime.jobs import bulk
from runtime.jobs import imports
from runtime.jobs import queue
from runtime.jobs import runner
from runtime.notices import JobChanged
from tests.runtime.engine_fixtures import *  # noqa: F403
from tests.runtime.engine_fixtures import Env
from tests.runtime.engine_fixtures import goal
from tests.runtime.engine_fixtures import graph
from tests.runtime.engine_fixtures import seq
from tests.runtime.engine_fixtures import step

MAPPING = {"Email": "email", "First name": "first_name", "Plan": "fields.plan", "Zip": "fields.zip"}


def marketer(env: Env) -> Actor:
    return Actor(user_id=env.ids["marketer"], role="marketer")


def write(tmp_path: Path, text: str, name: str = "people.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run(env: Env) -> Job:
    """Commit, run every queued job, return the last job re-read."""
    env.session.commit()
    runner.run_pending(env.factory, "test-worker")
    env.session.expire_all()
    return env.session.scalars(select(Job).order_by(Job.id.desc())).first()  # type: ignore[return-value]


def contacts(env: Env) -> dict[str, Contact]:
    return {c.email: c for c in env.session.scalars(select(Contact))}


def start(env: Env, path: Path, mapping: dict[str, str | None] = MAPPING, tags: t.Sequence[str] = ()) -> Job:
    return imports.start_file(env.session, marketer(env), path, mapping, tags)


def failed(env: Env, job: Job) -> list[tuple[int, str]]:
    return [(r["row"], r["message"]) for r in queue.failed_rows(env.session, job.id)]


# --- import ---------------------------------------------------------------------------------------


def test_import_creates_updates_and_reports_bad_rows(env: Env, tmp_path: Path) -> None:
    env.contact("known@example.com", first_name="Old", fields={"plan": "Basic", "keep": 1})
    path = write(tmp_path, "\n".join([
        "Email,First name,Plan,Zip,Ignored",
        "ada@example.com,Ada,Pro,02134,x",
        "KNOWN@Example.com,,Gold,,y",           # matched case-insensitively; empty cells change nothing
        "not-an-email,Bob,,,",
        ",Nobody,,,",
        "ADA@example.com,Ada L.,,10115,",       # the same person again, later in the file: an update
        "",                                     # blank lines are skipped
        "grace@example.com,Grace,12.5,-3,",
    ]) + "\n")
    job = run(env) if start(env, path) else None
    assert job is not None and job.status == "done"
    assert (job.total, job.done, job.created, job.updated, job.failed) == (6, 6, 2, 2, 2)
    assert failed(env, job) == [(4, "“not-an-email” is not a valid email address"), (5, "the email is empty")]
    people = contacts(env)
    assert set(people) == {"known@example.com", "ada@example.com", "grace@example.com"}
    assert people["known@example.com"].first_name == "Old"
    assert people["known@example.com"].fields == {"plan": "Gold", "keep": 1}
    assert people["ada@example.com"].first_name == "Ada L."
    assert people["ada@example.com"].fields == {"plan": "Pro", "zip": 10115}
    assert people["grace@example.com"].fields == {"plan": 12.5, "zip": -3}


def test_bom_semicolons_quotes_and_newlines_in_fields(env: Env, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffEmail;First name;Plan;Zip\r\n".encode()
                     + 'zoë@example.com;"Zoë ""Z""";"multi\r\nline; with delimiter";"02134"\r\n'.encode())
    start(env, path)
    job = run(env)
    assert (job.status, job.created, job.failed) == ("done", 1, 0)
    person = contacts(env)["zoë@example.com"]
    assert person.first_name == 'Zoë "Z"'
    assert person.fields == {"plan": "multi\r\nline; with delimiter", "zip": "02134"}


def test_rows_that_are_not_utf8_or_too_short_are_reported(env: Env, tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"Email,First name,Plan,Zip\n" + "a@example.com,Andr\xe9,,\n".encode("latin-1")
                     + b"b@example.com,Bea\n" + b"c@example.com,Cy,,\n")
    start(env, path)
    job = run(env)
    assert failed(env, job) == [(2, "the row is not UTF-8 text (save the file as CSV UTF-8)"),
                                (3, "the row has no “Plan” cell (it is shorter than the header)")]
    assert set(contacts(env)) == {"c@example.com"}


def test_checks_before_anything_is_stored(env: Env, tmp_path: Path) -> None:
    people = write(tmp_path, "Email,First name\na@example.com,A\n")
    with pytest.raises(Invalid) as missing:
        start(env, people, {"Email": "email", "Phone": "fields.phone"})
    assert missing.value.code == "missing_columns" and missing.value.details["columns"] == ["Phone"]
    with pytest.raises(Invalid) as no_email:
        start(env, people, {"First name": "first_name"})
    assert no_email.value.code == "email_not_mapped"
    with pytest.raises(Invalid) as twice:
        start(env, people, {"Email": "email", "First name": "email"})
    assert twice.value.code == "duplicate_field"
    with pytest.raises(Invalid) as unknown:
        start(env, people, {"Email": "email", "First name": "shoe_size"})
    assert unknown.value.code == "unknown_field"
    with pytest.raises(Invalid) as empty:
        start(env, write(tmp_path, "\n\n", "empty.csv"), {"Email": "email"})
    assert empty.value.code == "empty_file"
    with pytest.raises(Invalid):
        start(env, people, {"Email": "email"}, tags=["   "])
    with pytest.raises(Forbidden):
        imports.start_file(env.session, Actor(user_id=env.ids["rep1"], role="rep"), people, {"Email": "email"}, [])
    assert env.session.scalar(select(func.count()).select_from(Job)) == 0


def test_a_header_without_rows_is_done_at_once(env: Env, tmp_path: Path) -> None:
    start(env, write(tmp_path, "Email\n"), {"Email": "email"})
    job = run(env)
    assert (job.status, job.total, job.done) == ("done", 0, 0)


def test_import_tags_fire_goals_once_per_contact(env: Env, tmp_path: Path) -> None:
    env.publish(graph([goal("g", "tag_applied", tag="imported"), seq("s", step("n", "create_note", body="hi"))],
                      "g>s"))
    path = write(tmp_path, "Email\na@example.com\nb@example.com\nA@example.com\n")
    start(env, path, {"Email": "email"}, tags=["imported"])
    run(env)
    env.tick()
    assert env.session.scalar(select(func.count()).select_from(GoalHit)) == 2
    assert env.session.scalar(select(func.count()).where(SequenceRun.status == "completed")) == 2
    start(env, path, {"Email": "email"}, tags=["imported"])  # again: they have the tag, no event
    run(env)
    env.tick()
    assert env.session.scalar(select(func.count()).select_from(GoalHit)) == 2


def test_upload_source_is_stored_in_pieces_and_removed_when_done(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queue, "CHUNK_BYTES", 16)  # many pieces, offsets inside them
    monkeypatch.setattr(imports, "ROWS_PER_CHUNK", 2)
    data = "Email,First name\n" + "".join(f"p{i}@example.com,P{i}\n" for i in range(7))
    job = imports.start_upload(env.session, marketer(env), io.BytesIO(data.encode()), "people.csv",
                               {"Email": "email", "First name": "first_name"}, [])
    assert job.params["file_name"] == "people.csv"
    job = run(env)
    assert (job.status, job.created, job.total) == ("done", 7, 7)
    assert list(queue.read_file(env.session, job.id, "input")) == []


def test_a_crash_mid_import_resumes_at_the_committed_row(env: Env, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A process dies after two chunks: the next process resumes at row 6; nothing twice, nothing lost."""
    env.publish(graph([goal("g", "tag_applied", tag="new"), seq("s", step("n", "create_note", body="x"))], "g>s"))
    monkeypatch.setattr(imports, "ROWS_PER_CHUNK", 2)
    path = write(tmp_path, "Email\n" + "".join(f"p{i}@example.com\n" for i in range(7)))
    job_id = start(env, path, {"Email": "email"}, tags=["new"]).id
    env.session.commit()
    real = imports.run_chunk
    calls = {"n": 0}

    def dying(session: t.Any, job: Job) -> bool:
        calls["n"] += 1
        if calls["n"] == 4:  # count, chunk, chunk, then the process dies mid-chunk
            real(session, job)
            raise SystemExit("killed")
        return real(session, job)

    monkeypatch.setitem(runner.HANDLERS, "import", dying)
    assert queue.claim_job(env.factory, "first", 60) == job_id
    with pytest.raises(SystemExit):
        runner.run_job(env.factory, job_id, "first")
    env.session.expire_all()
    job = env.session.get(Job, job_id)
    assert job is not None and (job.status, job.done, job.cursor["row"]) == ("running", 4, 6)
    env.session.commit()  # let go of SQLite's lock: the next process writes
    assert queue.claim_job(env.factory, "second", 60) is None  # the lease still holds
    env.clock.advance(seconds=200)
    monkeypatch.setitem(runner.HANDLERS, "import", real)
    assert runner.run_pending(env.factory, "second") == 1
    env.session.expire_all()
    assert (job.status, job.done, job.created, job.attempts) == ("done", 7, 7, 2)
    env.tick()
    assert env.session.scalar(select(func.count()).select_from(Contact)) == 7
    assert env.session.scalar(select(func.count()).select_from(GoalHit)) == 7
    assert env.session.scalar(select(func.count()).select_from(SequenceRun)) == 7


def test_a_chunk_that_keeps_failing_fails_the_job_with_its_reason(env: Env, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    start(env, write(tmp_path, "Email\na@example.com\n"), {"Email": "email"})

    def broken(session: t.Any, job: Job) -> bool:
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(runner.HANDLERS, "import", broken)
    job = run(env)
    assert job.status == "failed" and job.error == "the job failed: RuntimeError: disk on fire"
    assert job.finished_at is not None and job.lease_owner is None


def test_a_vanished_file_fails_the_job_at_once(env: Env, tmp_path: Path) -> None:
    path = write(tmp_path, "Email\na@example.com\n")
    start(env, path, {"Email": "email"})
    path.unlink()
    job = run(env)
    assert job.status == "failed" and job.error is not None and "is gone" in job.error


def test_progress_is_announced_after_each_committed_chunk(env: Env, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "ROWS_PER_CHUNK", 2)
    heard: list[tuple[str, int, int | None]] = []

    def listen(committed: t.Sequence[events.Event]) -> None:
        heard.extend((e.status, e.done, e.total) for e in committed if isinstance(e, JobChanged))

    events.subscribe(listen)
    try:
        start(env, write(tmp_path, "Email\n" + "".join(f"p{i}@example.com\n" for i in range(5))),
              {"Email": "email"})
        run(env)
    finally:
        events.unsubscribe(listen)
    assert heard == [("queued", 0, None), ("running", 0, None), ("running", 0, 5), ("running", 2, 5),
                     ("running", 4, 5), ("done", 5, 5)]


# --- bulk tags and exports ------------------------------------------------------------------------------


def test_bulk_tag_of_a_segment_and_of_a_selection(env: Env) -> None:
    env.publish(graph([goal("g", "tag_applied", tag="promo"), seq("s", step("n", "create_note", body="x"))],
                      "g>s"))
    people = [env.contact(f"p{i}@example.com", first_name="Vip" if i % 2 else "Std").id for i in range(6)]
    apply_tag(env.session, marketer(env), people[1], "promo")  # already tagged: its goal fired once already
    vips = segments.create_segment(env.session, marketer(env), "VIPs",
                                   {"all": [{"field": "contact.first_name", "op": "eq", "value": "vip"}]})
    bulk.start_bulk_tag(env.session, marketer(env), "apply_tag", "promo", segment_id=vips.id)
    job = run(env)
    assert (job.status, job.total, job.done, job.updated) == ("done", 3, 3, 2)
    env.tick()
    assert env.session.scalar(select(func.count()).select_from(GoalHit)) == 3
    bulk.start_bulk_tag(env.session, marketer(env), "remove_tag", "promo", contact_ids=[people[0], people[1]])
    job = run(env)
    assert (job.done, job.updated) == (2, 1)
    with pytest.raises(Invalid):
        bulk.start_bulk_tag(env.session, marketer(env), "apply_tag", "promo")
    with pytest.raises(Invalid):
        bulk.start_bulk_tag(env.session, marketer(env), "explode", "promo", contact_ids=[people[0]])


def test_export_writes_every_column_and_defuses_formulas(env: Env) -> None:
    a = env.contact("a@example.com", first_name="=HYPERLINK(\"x\")", fields={"plan": "+1", "size": 3})
    b = env.contact("b@example.com", first_name="Bea", last_name="@home", fields={"note": "-2"})
    apply_tag(env.session, marketer(env), a.id, "vip")
    apply_tag(env.session, marketer(env), a.id, "news")
    job_id = bulk.start_export(env.session, marketer(env), contact_ids=[b.id, a.id]).id
    job = run(env)
    assert job.id == job_id and (job.status, job.done, job.total) == ("done", 2, 2)
    data = b"".join(queue.read_file(env.session, job.id, "output"))
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["id", "email", "first_name", "last_name", "timezone", "owner_id", "created_at", "tags",
                       "note", "plan", "size"]
    assert rows[1][:8] == [str(a.id), "a@example.com", "'=HYPERLINK(\"x\")", "", "", "", rows[1][6], "news; vip"]
    assert rows[1][8:] == ["", "'+1", "3"]
    assert rows[2][3] == "'@home" and rows[2][8] == "'-2"


def test_jobs_are_seen_by_their_starter_and_admins_only(env: Env) -> None:
    job = bulk.start_export(env.session, marketer(env), contact_ids=[env.contact().id])
    assert queue.get_job(env.session, marketer(env), job.id) is job
    assert queue.get_job(env.session, Actor(user_id=env.ids["admin"], role="admin"), job.id) is job
    with pytest.raises(Exception) as other:
        queue.get_job(env.session, Actor(user_id=env.ids["rep1"], role="rep"), job.id)
    assert type(other.value).__name__ == "NotFound"


def test_a_job_whose_process_keeps_dying_is_failed(env: Env) -> None:
    job = bulk.start_export(env.session, marketer(env), contact_ids=[env.contact().id])
    env.session.commit()
    for n in range(queue.MAX_CLAIMS):
        env.session.commit()
        assert queue.claim_job(env.factory, f"w{n}", 1) == job.id
        env.clock.advance(seconds=2)
    assert queue.claim_job(env.factory, "last", 1) is None
    env.session.expire_all()
    assert job.status == "failed" and "stopped 5 times" in (job.error or "")
    assert job.finished_at is not None and job.finished_at - job.created_at >= timedelta(seconds=10)


@pytest.mark.postgres
def test_import_bulk_tag_and_export_on_postgresql(pg_env: Env, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The same jobs on PostgreSQL (unnest instead of json_each, SKIP LOCKED claims, json key listing)."""
    env = pg_env
    monkeypatch.setattr(imports, "ROWS_PER_CHUNK", 2)
    env.publish(graph([goal("g", "tag_applied", tag="promo"), seq("s", step("n", "create_note", body="x"))],
                      "g>s"))
    path = write(tmp_path, "Email;First name;Plan;Zip\n" + "".join(
        f"p{i}@example.com;{'Vip' if i % 2 else 'Std'};=cmd;{i}\n" for i in range(5)) + "bad;;;\n")
    start(env, path)
    job = run(env)
    assert (job.status, job.created, job.failed) == ("done", 5, 1)
    vips = segments.create_segment(env.session, marketer(env), "VIPs",
                                   {"all": [{"field": "contact.first_name", "op": "eq", "value": "VIP"},
                                            {"field": "contact.fields.zip", "op": "gte", "value": 2}]})
    bulk.start_bulk_tag(env.session, marketer(env), "apply_tag", "promo", segment_id=vips.id)
    assert (run(env).done, env.tick()) == (1, 1)
    assert env.session.scalar(select(func.count()).select_from(GoalHit)) == 1
    bulk.start_export(env.session, marketer(env), segment_id=vips.id)
    job = run(env)
    rows = list(csv.reader(io.StringIO(b"".join(queue.read_file(env.session, job.id, "output")).decode("utf-8-sig"))))
    assert rows[0][-2:] == ["plan", "zip"] and rows[1][1] == "p3@example.com" and rows[1][-2:] == ["'=cmd", "3"]
    assert rows[1][7] == "promo"


def test_a_file_without_line_breaks_fails_the_job_instead_of_filling_memory(env: Env, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.jobs import csv_source

    monkeypatch.setattr(csv_source, "PIECE", 64)
    monkeypatch.setattr(csv_source, "MAX_LINE", 1000)
    start(env, write(tmp_path, "Email\n" + "x" * 5000), {"Email": "email"})
    job = run(env)
    assert job.status == "failed" and job.error == "a line is longer than 1 MB: this does not look like a CSV file"
