"""`stagecraft contacts import FILE --map COLUMN=FIELD … [--tag T]`: a progress bar, a summary, failed rows."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from models import Contact
from models import Job
from models.db import make_engine
from models.db import make_session_factory
from runtime.jobs import imports
from tests.builder.conftest import CliResult


def people(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / "people.csv"
    path.write_text("Email;First name;Plan\n" + "".join(f"p{i}@example.com;P{i};{i % 3}\n" for i in range(rows))
                    + "broken;X;1\n", encoding="utf-8")
    return path


def stored(tmp_path: Path) -> tuple[list[Contact], Job]:
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'stagecraft.db'}")
    with make_session_factory(engine)() as session:
        contacts = list(session.scalars(select(Contact).order_by(Contact.id)))
        job = session.scalars(select(Job)).one()
        for contact in contacts:
            _ = contact.tags
    engine.dispose()
    return contacts, job


def test_import_shows_progress_and_a_summary(cli: Callable[..., CliResult], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "ROWS_PER_CHUNK", 10)
    path = people(tmp_path, 25)
    result = cli("contacts", "import", str(path), "--map", "Email=email", "--map", "First name=first_name",
                 "--map", "Plan=fields.plan", "--tag", "imported", "--tag", "cli")
    assert result.code == 0, result
    assert result.out.strip() == "done: 26 rows, 25 created, 0 updated, 1 failed (job 1)"
    assert "row 27: “broken” is not a valid email address" in result.err
    bars = [line for line in result.err.splitlines() if line.startswith("[")]
    assert bars and bars[-1].startswith("[" + "#" * 30 + "] 100%  26 / 26 rows")
    contacts, job = stored(tmp_path)
    assert len(contacts) == 25 and job.status == "done" and job.params["source"] == "file"
    assert contacts[4].first_name == "P4" and contacts[4].fields == {"plan": 1}
    assert sorted(t.name for t in contacts[0].tags) == ["cli", "imported"]


def test_without_map_columns_are_matched_by_name(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    result = cli("contacts", "import", str(people(tmp_path, 2)))
    assert result.code == 0, result
    assert "mapping: Email=email, First name=first_name, Plan=fields.plan" in result.err
    contacts, _job = stored(tmp_path)
    assert [c.first_name for c in contacts] == ["P0", "P1"]


def test_bad_arguments_and_files_say_what_is_wrong(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    assert "no file" in cli("contacts", "import", str(tmp_path / "nope.csv")).err
    path = people(tmp_path, 1)
    bad = cli("contacts", "import", str(path), "--map", "Email")
    assert bad.code == 2 and "COLUMN=FIELD" in bad.err
    missing = cli("contacts", "import", str(path), "--map", "Mail=email")
    assert missing.code == 2 and "The file has no column “Mail”" in missing.err
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "The file is empty" in cli("contacts", "import", str(empty), "--map", "Email=email").err
    assert os.path.exists(tmp_path / "data" / "stagecraft.db")
