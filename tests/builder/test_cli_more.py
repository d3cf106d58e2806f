"""CLI details: password from stdin (kept out of the process list), worker options forwarded."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from builder.cli import main
from models import users
from models.db import make_engine
from models.db import make_session_factory


def test_user_add_reads_password_from_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """The piped password is the one that logs in."""
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("STAGECRAFT_DATABASE_URL", url)
    monkeypatch.setattr("sys.stdin", io.StringIO("piped-secret-1\n"))
    assert main(["user", "add", "pia", "--role", "rep"]) == 0
    assert "created rep 'pia'" in capsys.readouterr().out
    with make_session_factory(make_engine(url))() as session:
        assert users.authenticate(session, "pia", "piped-secret-1").username == "pia"


def test_worker_options_reach_the_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """`stagecraft worker --once` runs every loop once and exits (options are forwarded)."""
    monkeypatch.setenv("STAGECRAFT_DATABASE_URL", f"sqlite:///{tmp_path}/worker.db")
    monkeypatch.delenv("STAGECRAFT_REDIS_URL", raising=False)
    assert main(["worker", "--once"]) == 0


def test_demo_has_a_live_campaign_with_contacts_in_flight(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo publishes its campaign and moves a few deals, so runs are waiting for the runtime."""
    url = f"sqlite:///{tmp_path}/demo.db"
    monkeypatch.setenv("STAGECRAFT_DATABASE_URL", url)
    assert main(["demo"]) == 0
    from sqlalchemy import select

    from models import Campaign
    from models import SequenceRun

    with make_session_factory(make_engine(url))() as session:
        assert session.scalar(select(Campaign.status).where(Campaign.name == "Sales follow-up")) == "live"
        assert len(session.scalars(select(SequenceRun)).all()) == 4


def test_stagecraft_demo_runs_as_its_own_process(tmp_path: Path) -> None:
    """`stagecraft demo` in a fresh process (no app made first) installs goal matching itself."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "STAGECRAFT_DATABASE_URL": f"sqlite:///{tmp_path}/demo.db", "STAGECRAFT_DATA_DIR": str(tmp_path)}
    env.pop("STAGECRAFT_REDIS_URL", None)
    done = subprocess.run([sys.executable, "-m", "builder.cli", "demo"], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "demo-marketer-pass" in done.stdout
