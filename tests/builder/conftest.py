"""API test fixtures (flaskr style): a temp-file app, a client that refuses 5xx, and API helpers.

Every API reply any test here gets is checked against the OpenAPI document:
its status is the declared one and its body matches the declared schema
(`replies_match_the_document`, tests/builder/response_schemas.py).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.test import TestResponse

from builder import create_app
from models import Base
from models import clock
from models import users as user_service
from models.db import make_engine
from models.db import transaction
from models.db import upgrade
from tests.builder.response_schemas import CHECKER

PASSWORD = "correct-horse-1"
ROLE_OF = {"admin": "admin", "marketer": "marketer"}


class GuardedClient(FlaskClient):
    """A test client that fails the test on any 5xx reply (a 500 is a bug)."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        assert response.status_code < 500, f"{response.status_code}: {response.get_data(as_text=True)}"
        return response


@pytest.fixture(autouse=True)
def replies_match_the_document(monkeypatch: pytest.MonkeyPatch) -> None:
    """Check each reply of every Flask test client (GuardedClient and plain ones) against the document."""
    original = FlaskClient.open

    def open_and_check(self: FlaskClient, *args: Any, **kwargs: Any) -> TestResponse:
        response = original(self, *args, **kwargs)
        CHECKER.check(self.application, response.request.method, response.request.path, response)
        return response

    monkeypatch.setattr(FlaskClient, "open", open_and_check)


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap scrypt parameters (hashes stay self-describing, so checks are unchanged)."""
    monkeypatch.setitem(user_service.SCRYPT, "n", 2**4)


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file upgraded to head once; each app starts from a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture
def app(tmp_path: Path, migrated_db: Path, fake_clock: clock.FakeClock) -> Iterator[Flask]:
    """The app on a temp SQLite file (WAL), with the FakeClock installed."""
    shutil.copyfile(migrated_db, tmp_path / "t.db")
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": f"sqlite:///{tmp_path}/t.db",
        "SECRET_KEY": "test",
        "DATA_DIR": str(tmp_path),
    })
    app.test_client_class = GuardedClient
    yield app
    app.extensions["stagecraft_db"].engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for the app."""
    return app.test_client()


def error_of(response: TestResponse, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert a JSON error reply with `status` (and `code`); return its error object."""
    assert response.status_code == status, f"{response.status_code}: {response.get_data(as_text=True)}"
    body = response.get_json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "message", "details"} <= set(error), error
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error


def error_fields(response: TestResponse) -> set[str]:
    """The field names of a 422 validation_error reply."""
    error = error_of(response, 422, "validation_error")
    return {e["field"] for e in error["details"]["errors"]}


class ApiActions:
    """Users through the real service, tokens through POST /auth/token, the rest through the API.

    Users are made on first use: "admin" is an admin, "marketer" a marketer,
    any other name a rep (pass role= to `add_user` for anything else).
    """

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app = app
        self.client = client
        self.users: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}
        self._emails = count(1)

    # --- database -------------------------------------------------------------

    @property
    def engine(self) -> Any:
        """The app's SQLAlchemy engine."""
        return self.app.extensions["stagecraft_db"].engine

    def sessions(self) -> Any:
        """The app's session factory."""
        return self.app.extensions["stagecraft_db"].sessions

    def count(self, table: str, where: str = "", **params: Any) -> int:
        """Rows in `table` (optionally filtered by a SQL condition)."""
        sql = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
        with self.engine.connect() as conn:
            return int(conn.execute(text(sql), params).scalar_one())

    def row_counts(self) -> dict[str, int]:
        """Rows in every table of the schema."""
        return {name: self.count(name) for name in Base.metadata.tables}

    def events(self, type: str | None = None) -> list[dict[str, Any]]:
        """Domain events (oldest first), optionally of one type, as dicts."""
        sql = "SELECT * FROM domain_event" + (" WHERE type = :type" if type else "") + " ORDER BY id"
        with self.engine.connect() as conn:
            rows = conn.execute(text(sql), {"type": type}).mappings().all()
        out = []
        for row in rows:
            item = dict(row)
            if isinstance(item["payload"], str):
                item["payload"] = json.loads(item["payload"])
            out.append(item)
        return out

    # --- users and tokens -----------------------------------------------------

    def add_user(self, username: str, role: str = "rep", password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
        """Create a user with models.users.create_user; return {id, username, role, password}."""
        with transaction(self.sessions()) as session:
            user = user_service.create_user(session, username, password, role, **extra)
            info = {"id": user.id, "username": username, "role": role, "password": password,
                    "team_id": user.team_id}
        self.users[username] = info
        return info

    def user(self, username: str) -> dict[str, Any]:
        """The user called `username`, created on first use."""
        if username not in self.users:
            self.add_user(username, ROLE_OF.get(username, "rep"))
        return self.users[username]

    def uid(self, username: str) -> int:
        """The id of a user (created on first use)."""
        return int(self.user(username)["id"])

    def login_token(self, username: str, password: str | None = None) -> TestResponse:
        """POST /api/v1/auth/token as is."""
        user = self.user(username)
        return self.client.post("/api/v1/auth/token", json={
            "username": username, "password": user["password"] if password is None else password})

    def token(self, username: str) -> str:
        """A bearer token for the user (cached)."""
        if username not in self.tokens:
            response = self.login_token(username)
            assert response.status_code == 200, response.get_json()
            self.tokens[username] = response.get_json()["token"]
        return self.tokens[username]

    def headers(self, username: str | None) -> dict[str, str]:
        """Authorization headers for `username` (none for None)."""
        return {} if username is None else {"Authorization": f"Bearer {self.token(username)}"}

    # --- raw calls ------------------------------------------------------------

    def call(self, method: str, path: str, json: Any = None, *, as_user: str | None = "admin",
             headers: dict[str, str] | None = None, **kwargs: Any) -> TestResponse:
        """Call /api/v1`path` as a user and return the response."""
        if json is not None:
            kwargs["json"] = json
        return self.client.open("/api/v1" + path, method=method,
                                headers={**self.headers(as_user), **(headers or {})}, **kwargs)

    def get(self, path: str, **kw: Any) -> TestResponse:
        """GET."""
        return self.call("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> TestResponse:
        """POST."""
        return self.call("POST", path, json, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> TestResponse:
        """PATCH."""
        return self.call("PATCH", path, json, **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> TestResponse:
        """PUT."""
        return self.call("PUT", path, json, **kw)

    def delete(self, path: str, **kw: Any) -> TestResponse:
        """DELETE."""
        return self.call("DELETE", path, **kw)

    def ok(self, method: str, path: str, json: Any = None, *, status: int | None = None, **kw: Any) -> Any:
        """Call and assert the status (default 201 for POST, else 200); return the JSON body."""
        response = self.call(method, path, json, **kw)
        expected = status or (201 if method == "POST" else 200)
        assert response.status_code == expected, f"{method} {path}: {response.status_code} {response.get_json()}"
        return response.get_json()

    # --- builders -------------------------------------------------------------

    def pipeline(self, template: str | None = "sales_workflow", *, kind: str | None = None, name: str = "Pipeline",
                 stages: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """POST /pipelines as admin."""
        kind = kind or ("fulfillment" if template == "fulfillment" else "sales")
        body: dict[str, Any] = {"name": name, "kind": kind, "stages": stages or []}
        if template:
            body["template"] = template
        return self.ok("POST", "/pipelines", body)  # type: ignore[no-any-return]

    def simple_pipeline(self, *specs: tuple[str, int, int], name: str = "Simple") -> dict[str, Any]:
        """A pipeline of (name, target_days, probability) stages numbered 10, 20, ... without checklists."""
        return self.pipeline(None, name=name, stages=[
            {"number": 10 * (i + 1), "name": n, "target_days": days, "probability": prob}
            for i, (n, days, prob) in enumerate(specs)])

    def contact(self, email: str | None = None, *, as_user: str = "admin", **fields: Any) -> dict[str, Any]:
        """POST /contacts."""
        email = email or f"person{next(self._emails)}@example.com"
        return self.ok("POST", "/contacts", {"email": email, **fields}, as_user=as_user)  # type: ignore[no-any-return]

    def opportunity(self, pipeline: dict[str, Any], stage: int = 0, *, as_user: str = "admin",
                    contact: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        """POST /opportunities in `pipeline`'s stage at index `stage`."""
        contact = contact or self.contact()
        body = {"title": "Deal", "contact_id": contact["id"], "pipeline_id": pipeline["id"],
                "stage_id": pipeline["stages"][stage]["id"], **fields}
        return self.ok("POST", "/opportunities", body, as_user=as_user)  # type: ignore[no-any-return]

    def move(self, opp: dict[str, Any], stage: dict[str, Any], *, as_user: str = "admin") -> TestResponse:
        """PATCH the opportunity's stage."""
        return self.patch(f"/opportunities/{opp['id']}", {"stage_id": stage["id"]}, as_user=as_user)

    def tick(self, opp: dict[str, Any], item_id: int, done: bool = True, *, as_user: str = "admin") -> Any:
        """PUT a checklist item's state."""
        return self.ok("PUT", f"/opportunities/{opp['id']}/checklist/{item_id}", {"done": done}, as_user=as_user)

    def tick_required(self, opp: dict[str, Any], stage: dict[str, Any], *, as_user: str = "admin") -> None:
        """Tick every required item of `stage` on the opportunity."""
        for item in stage["checklist"]:
            if item["required"]:
                self.tick(opp, item["id"], as_user=as_user)

    def history(self, opp: dict[str, Any], *, as_user: str = "admin") -> list[dict[str, Any]]:
        """GET the sales history."""
        return self.ok("GET", f"/opportunities/{opp['id']}/history", as_user=as_user)  # type: ignore[no-any-return]

    # --- browser sessions -----------------------------------------------------

    def login_session(self, username: str, client: FlaskClient | None = None) -> str:
        """Log in through the /login form; return the new session's CSRF token."""
        client = client or self.client
        user = self.user(username)
        response = client.post("/login", data={"username": username, "password": user["password"],
                                               "csrf_token": csrf_token_of(client)})
        assert response.status_code == 302, response.get_data(as_text=True)
        return csrf_token_of(client)


def csrf_token_of(client: FlaskClient) -> str:
    """The CSRF token of the client's session, read from the login form (or a page's meta tag)."""
    for path in ("/login", "/contacts"):
        page = client.get(path).get_data(as_text=True)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page) or re.search(
            r'name="csrf-token" content="([^"]+)"', page)
        if match:
            return match.group(1)
    raise AssertionError("no page shows a CSRF token")


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> ApiActions:
    """API helpers bound to this test's app and client (the admin already has a token)."""
    actions = ApiActions(app, client)
    actions.token("admin")
    return actions


@pytest.fixture
def sales(api: ApiActions) -> dict[str, Any]:
    """A pipeline made from the sales_workflow template."""
    return api.pipeline("sales_workflow", name="Sales")


class CliResult:
    """What a `stagecraft` command did."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"CliResult(code={self.code}, out={self.out!r}, err={self.err!r})"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
        ) -> Callable[..., CliResult]:
    """Run `stagecraft ARGS` in-process against a temp STAGECRAFT_DATA_DIR."""
    from builder.cli import main

    monkeypatch.setenv("STAGECRAFT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("STAGECRAFT_DATABASE_URL", raising=False)

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse errors
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run
