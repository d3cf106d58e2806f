"""`stagecraft worker` / `python -m runtime.worker`: no Flask, clean stop."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runtime import worker
from tests.runtime.relay_fixtures import REPO
from tests.runtime.relay_fixtures import subprocess_env


def test_the_worker_never_imports_flask(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import sys
        import runtime.worker
        assert "flask" not in sys.modules, "importing runtime.worker imported flask"
        assert runtime.worker.main(["--once"]) == 0
        leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("flask", "builder"))
        assert not leaked, leaked
        print("NO-FLASK-OK")
    """)
    env = subprocess_env(STAGECRAFT_DATABASE_URL=f"sqlite:///{tmp_path / 'w.db'}")
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "NO-FLASK-OK" in done.stdout
    assert "one pass: tick 0, relay 0, reaper 0, overdue 0" in done.stdout


def test_python_m_runtime_worker_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = subprocess_env(STAGECRAFT_DATABASE_URL=f"sqlite:///{tmp_path / 'w.db'}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "runtime.worker", "--tick-seconds", "0.2"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:  # bounded: the process prints "running" right after start
            lines.append(line)
            if line.startswith("running"):
                break
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    text = "".join(lines) + out
    assert proc.returncode == 0, err
    assert "stagecraft worker " in text
    assert f"database sqlite:///{tmp_path / 'w.db'}" in text
    assert "SIGTERM received" in text and text.rstrip().endswith("stopped")


def test_the_printed_database_url_hides_the_password() -> None:
    shown = worker.safe_url("postgresql://app:s3cret@db.example.com:5432/stagecraft")
    assert "s3cret" not in shown
    assert shown.startswith("postgresql://app:") and shown.endswith(
        "@db.example.com:5432/stagecraft"
    )


def test_command_line_overrides_the_loop_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGECRAFT_DATABASE_URL", "sqlite://")
    args = worker.build_parser().parse_args(
        ["--tick-seconds", "0.25", "--lease-seconds", "5", "--batch-size", "7"]
    )
    config = worker.config_from_args(args)
    assert (config.tick_seconds, config.lease_seconds, config.batch_size, config.relay_seconds) == (
        0.25,
        5,
        7,
        1.0,
    )
