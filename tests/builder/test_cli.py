"""The `stagecraft` command in-process: db upgrade, user add, demo, and clear errors for bad input."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from builder import create_app
from models import clock
from tests.builder.conftest import CliResult
from tests.builder.conftest import GuardedClient

Run = Callable[..., CliResult]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The STAGECRAFT_DATA_DIR the `cli` fixture points at."""
    return tmp_path / "data"


@pytest.fixture
def served(data_dir: Path, tmp_path: Path) -> Iterator[Callable[[], FlaskClient]]:
    """Open a test client on the CLI's database (after the commands ran)."""
    apps = []

    def open_client() -> FlaskClient:
        app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{data_dir / 'stagecraft.db'}",
                          "SECRET_KEY": "test", "DATA_DIR": str(tmp_path / "web")})
        app.test_client_class = GuardedClient
        apps.append(app)
        return app.test_client()

    yield open_client
    for app in apps:
        app.extensions["stagecraft_db"].engine.dispose()


def token(client: FlaskClient, username: str, password: str) -> dict[str, str]:
    """Bearer headers for a user, via POST /api/v1/auth/token."""
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_db_upgrade_creates_the_schema_in_the_data_dir(cli: Run, data_dir: Path) -> None:
    """`db upgrade` makes stagecraft.db (WAL) in STAGECRAFT_DATA_DIR; running it again is harmless."""
    result = cli("db", "upgrade")
    assert result.code == 0, result
    assert "up to date" in result.out and str(data_dir) in result.out
    with sqlite3.connect(data_dir / "stagecraft.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"user_account", "opportunity", "stage_move", "domain_event", "alembic_version"} <= tables
    assert cli("db", "upgrade").code == 0


def test_user_add_creates_a_user_who_can_log_in(cli: Run, served: Callable[[], FlaskClient]) -> None:
    """`user add NAME --role --password` prints the user; the API accepts the credentials."""
    result = cli("user", "add", "ada", "--role", "marketer", "--password", "analytical-1",
                 "--daily-task-capacity", "4", "--email", "ada@example.com")
    assert result.code == 0, result
    assert "created marketer 'ada'" in result.out
    client = served()
    me = client.get("/api/v1/users/me", headers=token(client, "ada", "analytical-1")).get_json()
    assert (me["role"], me["daily_task_capacity"], me["email"]) == ("marketer", 4, "ada@example.com")


@pytest.mark.parametrize(("args", "message"), [
    (["user", "add", "bob", "--role", "rep", "--password", "short"], "at least 8 characters"),
    (["user", "add", "bob", "--role", "rep", "--password", "long-enough", "--daily-task-capacity", "0"],
     "capacity must be at least 1"),
])
def test_user_add_refuses_bad_values_clearly(cli: Run, args: list[str], message: str) -> None:
    """Domain refusals print `error: …` on stderr and exit 2 without a traceback."""
    result = cli(*args)
    assert result.code == 2, result
    assert result.err.startswith("error: ") and message in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(("args", "message"), [
    (["user", "add", "bob", "--role", "wizard", "--password", "long-enough"], "invalid choice"),
    (["user", "add", "bob", "--role", "rep", "--password", "long-enough", "--daily-task-capacity", "many"],
     "invalid int value"),
    (["user"], "required"),
    ([], "required"),
    (["launch"], "invalid choice"),
])
def test_usage_errors_exit_2_with_a_message(cli: Run, args: list[str], message: str) -> None:
    """argparse errors name the problem and exit 2."""
    result = cli(*args)
    assert result.code == 2, result
    assert message in result.err


def test_user_add_reads_a_piped_password(cli: Run, served: Callable[[], FlaskClient],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --password the password comes from stdin (kept out of the process list)."""
    monkeypatch.setattr("sys.stdin", io.StringIO("piped-secret-1\n"))
    assert cli("user", "add", "pipe", "--role", "rep").code == 0
    client = served()
    assert client.get("/api/v1/users/me", headers=token(client, "pipe", "piped-secret-1")).status_code == 200
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    result = cli("user", "add", "nopass", "--role", "rep")
    assert result.code == 2 and "at least 8 characters" in result.err


def test_user_add_twice_is_refused(cli: Run) -> None:
    """A taken username exits 2 with a message."""
    assert cli("user", "add", "bob", "--role", "rep", "--password", "long-enough").code == 0
    result = cli("user", "add", "bob", "--role", "admin", "--password", "long-enough")
    assert result.code == 2 and "taken" in result.err


def test_bad_database_url_is_a_clear_error(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unparsable STAGECRAFT_DATABASE_URL exits 2 with `error: database: …`."""
    monkeypatch.setenv("STAGECRAFT_DATABASE_URL", "not a url")
    result = cli("db", "upgrade")
    assert result.code == 2, result
    assert result.err.startswith("error: database:") and "Traceback" not in result.err


def test_demo_seeds_users_pipelines_and_spread_out_opportunities(
        cli: Run, served: Callable[[], FlaskClient], fake_clock: clock.FakeClock) -> None:
    """`demo` makes 4 users, the two templates, ~50 contacts with deals over many stages, some overdue."""
    result = cli("demo")
    assert result.code == 0, result
    assert "admin / demo-admin-pass" in result.out and "rep1 / demo-rep-pass" in result.out
    client = served()
    admin = token(client, "admin", "demo-admin-pass")
    for username, password in (("marketer", "demo-marketer-pass"), ("rep1", "demo-rep-pass"),
                               ("rep2", "demo-rep-pass")):
        token(client, username, password)
    roles = sorted(u["role"] for u in client.get("/api/v1/users", headers=admin).get_json())
    assert roles == ["admin", "marketer", "rep", "rep"]
    contacts = client.get("/api/v1/contacts?limit=1000", headers=admin).get_json()
    assert 45 <= len(contacts) <= 60
    pipelines = {p["name"]: p for p in client.get("/api/v1/pipelines", headers=admin).get_json()}
    assert [s["name"] for s in pipelines["Sales opportunities"]["stages"]][0] == "Prospect"
    assert pipelines["Fulfillment"]["stages"][0]["number"] == 100
    opportunities: list[dict[str, Any]] = client.get("/api/v1/opportunities", headers=admin).get_json()
    assert len(opportunities) >= 45
    assert len({o["stage_id"] for o in opportunities}) >= 6
    assert {o["owner_name"] for o in opportunities} == {"Riley Rep", "Sam Seller"}
    overdue = client.get("/api/v1/opportunities?overdue=true", headers=admin).get_json()
    assert 0 < len(overdue) < len(opportunities)
    forecast = client.get(f"/api/v1/pipelines/{pipelines['Sales opportunities']['id']}/forecast",
                          headers=admin).get_json()
    assert forecast["total_value"] > 0 and forecast["total_overdue"] > 0


def test_demo_twice_is_refused_without_changes(cli: Run, data_dir: Path, fake_clock: clock.FakeClock) -> None:
    """A second `demo` explains the data is there, exits 2, and adds nothing."""
    assert cli("demo").code == 0

    def counts() -> tuple[int, ...]:
        with sqlite3.connect(data_dir / "stagecraft.db") as conn:
            return tuple(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                         for t in ("user_account", "pipeline", "contact", "opportunity", "domain_event"))

    before = counts()
    result = cli("demo")
    assert result.code == 2, result
    assert "already" in result.err and "Traceback" not in result.err
    assert counts() == before
