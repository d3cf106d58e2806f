"""Every API operation declares its reply, and real replies are exactly what the OpenAPI document says.

- Declarations: each route of the URL map has a response model (or is a 204
  without a body); the document shows one success status per operation, with
  a schema that is not free-form; free-form JSON inside replies says so in its
  description; `route()` refuses an undeclared reply, and views return bodies,
  never (body, status) tuples.
- Replies: on a seeded world with every kind of row (tests/builder/security_world.py,
  plus notes, products, a ticked checklist item, outbox rows), every operation
  is called as each caller it allows and its reply validated against the
  document, strictly (tests/builder/response_schemas.py). The conftest hook
  does the same for every reply of every other test.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Blueprint
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from builder import errors
from builder.api.base import ROUTES
from builder.api.base import route
from builder.schemas.accounts import TeamOut
from models import contacts as contact_service
from models import opportunities as opp_service
from runtime import campaigns as campaign_service
from runtime import publishing
from runtime.config import RuntimeConfig
from runtime.execution.step_loop import run_due
from tests.builder.response_schemas import CHECKER
from tests.builder.response_schemas import ResponseMismatch
from tests.builder.response_schemas import operations
from tests.builder.security_world import World
from tests.builder.security_world import build_world
from tests.builder.test_authz_matrix import CALLERS
from tests.builder.test_authz_matrix import DECISIONS
from tests.builder.test_authz_matrix import api_routes
from tests.builder.test_authz_matrix import concrete

API = Path(__file__).resolve().parents[2] / "builder" / "api"
P = "/api/v1"


@pytest.fixture
def document(client: FlaskClient) -> dict[str, Any]:
    """The served document."""
    return client.get(f"{P}/openapi.json").get_json()  # type: ignore[no-any-return]


# --- declarations -----------------------------------------------------------------------------


def test_every_route_declares_its_reply(app: Flask) -> None:
    """A response model for every API route of the URL map, or status 204 and no body."""
    undeclared = []
    declared = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(P):
            continue
        spec = ROUTES[rule.endpoint]
        if spec.response is None and spec.status != 204:
            undeclared.append(rule.rule)
        declared += len(spec.methods)
    assert not undeclared, f"routes without a response schema: {undeclared}"
    assert declared >= 66  # every operation of v1 (more as the API grows)


def free_form(schema: dict[str, Any]) -> bool:
    """An object or any-value schema that says nothing of its keys."""
    keys = set(schema) - {"title", "description", "default"}
    return keys <= {"type", "additionalProperties"} and schema.get("type", "object") == "object" \
        and schema.get("additionalProperties", True) is True


def test_every_operation_documents_one_success_reply(document: dict[str, Any]) -> None:
    """One 2xx status per operation (the declared one); a 204 has no content, any other a precise schema."""
    for path, method, op in operations(document):
        successes = [s for s in op["responses"] if s.startswith("2")]
        assert len(successes) == 1, (path, method, successes)
        reply = op["responses"][successes[0]]
        if successes[0] == "204":
            assert "content" not in reply, (path, method)
            continue
        media_type, content = next(iter(reply["content"].items()))
        schema = content["schema"]
        if media_type != "application/json":
            assert schema == {"type": "string"}, (path, method, schema)  # a file: text/csv
            continue
        assert not free_form(schema), (path, method, schema)
        if schema.get("type") == "array":
            assert not free_form(schema["items"]), (path, method, schema)


def reachable(document: dict[str, Any]) -> set[str]:
    """Components that 2xx replies use, directly or nested."""
    schemas = document["components"]["schemas"]
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] not in found:
                name = ref.rsplit("/", 1)[1]
                found.add(name)
                walk(schemas[name])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for _path, _method, op in operations(document):
        for status, reply in op["responses"].items():
            if status.startswith("2"):
                walk(reply.get("content", {}))
    return found


def test_free_form_json_in_replies_says_so(document: dict[str, Any]) -> None:
    """A reply field typed as any JSON (node configs, custom fields, audit details…) has a description."""
    schemas = document["components"]["schemas"]
    silent = []
    for name in sorted(reachable(document)):
        for field, prop in schemas[name].get("properties", {}).items():
            options = prop.get("anyOf", [prop])
            if any(free_form(o) for o in options if o.get("type") != "null") and not prop.get("description"):
                silent.append(f"{name}.{field}")
    assert not silent, f"free-form reply fields without a description: {silent}"


def test_reply_components_include_the_campaign_graph(document: dict[str, Any]) -> None:
    """The graph is modelled node by node in replies; only configs and ui are free-form."""
    schemas = document["components"]["schemas"]
    assert {"GraphOut", "GoalNodeOut", "SequenceNodeOut", "NoteNodeOut", "StepOut", "EdgeOut"} <= reachable(document)
    draft = schemas["CampaignOut"]["properties"]["draft"]
    assert draft == {"$ref": "#/components/schemas/GraphOut"}
    assert "x" in schemas["PositionOut"]["required"]


def test_route_refuses_an_undeclared_reply() -> None:
    """Leaving out response= (unless the status is 204), or giving a 204 a body, fails at declaration."""
    probe = Blueprint("probe_undeclared", __name__, url_prefix="/probe")
    with pytest.raises(TypeError, match="declare the reply"):
        route(probe, "/a")
    with pytest.raises(TypeError, match="declare the reply"):
        route(probe, "/b", ("POST",), status=201)
    with pytest.raises(TypeError, match="declare the reply"):
        route(probe, "/c", ("DELETE",), response=TeamOut, status=204)
    with pytest.raises(TypeError, match="not a success status"):
        route(probe, "/d", response=TeamOut, status=302)
    assert not [endpoint for endpoint in ROUTES if endpoint.startswith("probe_undeclared.")]


def route_views(tree: ast.Module) -> Iterator[tuple[ast.FunctionDef, ast.Call]]:
    """Functions of a module decorated with `@route(...)`, with the decorator call."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", "") == "route":
                    yield node, decorator


def test_views_return_bodies_not_status_tuples() -> None:
    """The status lives in the declaration: no view returns (body, status); a 204 view returns no value."""
    offenders = []
    views = 0
    for path in sorted(API.glob("*.py")):
        for view, decorator in route_views(ast.parse(path.read_text())):
            views += 1
            status = next((k.value for k in decorator.keywords if k.arg == "status"), None)
            no_body = isinstance(status, ast.Constant) and status.value == 204
            for node in ast.walk(view):
                if not isinstance(node, ast.Return) or node.value is None:
                    continue
                if isinstance(node.value, ast.Tuple) or no_body:
                    offenders.append(f"{path.name}:{node.lineno} {view.name}")
    assert views >= 66
    assert not offenders, offenders


@pytest.fixture
def probe_app() -> Iterator[Flask]:
    """A bare app with two buggy views declared through route(): a tuple return and an undeclared key."""
    probe = Blueprint("probe_buggy", __name__, url_prefix="/api/probe")

    @route(probe, "/tuple", response=TeamOut, status=201, public=True)
    def tuple_view() -> Any:
        return {"id": 1, "name": "East"}, 201

    @route(probe, "/extra", response=TeamOut, public=True)
    def extra_key() -> Any:
        return {"id": 1, "name": "East", "secret": "not in the schema"}

    @route(probe, "/fine", response=TeamOut, status=201, public=True)
    def fine() -> Any:
        return {"id": 1, "name": "East"}

    app = Flask("probe")
    errors.register(app)
    app.register_blueprint(probe)
    yield app
    for endpoint in [e for e in ROUTES if e.startswith("probe_buggy.")]:
        del ROUTES[endpoint]


def test_a_reply_its_model_refuses_is_a_server_bug(probe_app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    """A tuple return or an undeclared key is a logged 500, never sent and never blamed on the caller (422)."""
    client = probe_app.test_client()
    fine = client.get("/api/probe/fine")
    assert (fine.status_code, fine.get_json()) == (201, {"id": 1, "name": "East"})
    for path in ("/api/probe/tuple", "/api/probe/extra"):
        response = client.get(path)
        assert response.status_code == 500, path
        assert response.get_json()["error"]["code"] == "internal_error"
        assert "not in the schema" not in response.get_data(as_text=True)
    assert sum("unhandled error" in r.getMessage() for r in caplog.records) == 2


# --- the checker has teeth ----------------------------------------------------------------------


def tampered(response: TestResponse, body: Any = None, status: int | None = None) -> TestResponse:
    """The same reply with another JSON body and/or status."""
    if body is not None:
        response.set_data(json.dumps(body))
    if status is not None:
        response.status_code = status
    return response


def test_checker_refuses_what_the_document_does_not_say(api: Any) -> None:
    """Wrong status, an extra or missing key, a wrong type or format, a body on a 204: each is caught."""
    app = api.app
    contact = api.contact(first_name="Ada")
    path = f"{P}/contacts/{contact['id']}"

    def reply() -> TestResponse:
        return api.get(f"/contacts/{contact['id']}")  # type: ignore[no-any-return]

    CHECKER.check(app, "GET", path, reply())  # the real reply passes
    cases = {
        "status": tampered(reply(), status=201),
        "extra key": tampered(reply(), {**contact, "password": "x"}),
        "missing key": tampered(reply(), {k: v for k, v in contact.items() if k != "email"}),
        "type": tampered(reply(), {**contact, "tags": "vip"}),
        "format": tampered(reply(), {**contact, "created_at": "yesterday"}),
        "nested": tampered(reply(), {**contact, "tags": [1]}),
    }
    missed = []
    for name, response in cases.items():
        try:
            CHECKER.check(app, "GET", path, response)
        except ResponseMismatch:
            continue
        missed.append(name)
    assert not missed, f"the checker let these through: {missed}"
    revoked = api.delete("/auth/tokens/999999")  # a 404 error body is checked against the Error schema
    CHECKER.check(app, "DELETE", f"{P}/auth/tokens/999999", revoked)
    with pytest.raises(ResponseMismatch):
        CHECKER.check(app, "DELETE", f"{P}/auth/tokens/1", tampered(revoked, {"id": 1}, status=204))
    with pytest.raises(ResponseMismatch):
        CHECKER.check(app, "DELETE", f"{P}/auth/tokens/1", tampered(revoked, {"error": "gone"}, status=404))


# --- every operation on a seeded world ---------------------------------------------------------


def outreach_graph() -> dict[str, Any]:
    """Tag "hot" → a sequence that emails and posts (outbox rows of both kinds)."""
    return {
        "nodes": [
            {"id": "g1", "kind": "goal", "type": "tag_applied", "name": "Hot", "config": {"tag": "hot"},
             "position": {"x": 0.5, "y": 0}, "ui": {"color": "red"}},
            {"id": "s1", "kind": "sequence", "name": "Outreach", "position": {"x": 300, "y": 0},
             "steps": [{"id": "t1", "type": "send_email", "config": {"subject": "Hi", "body": "Hello"}},
                       {"id": "t2", "type": "http_post", "config": {"url": "https://example.com/hook",
                                                                     "json": {"a": 1}}}]},
            {"id": "n1", "kind": "note", "text": "why", "position": {"x": 0, "y": 200}},
        ],
        "edges": [{"id": "e1", "source": "g1", "target": "s1"}],
    }


def enrich(world: World) -> None:
    """What the seeded world lacks, so item schemas meet real rows: a note, a product, a ticked checklist
    item, a second campaign (float position, ui, a note node) whose run wrote an email and an HTTP post."""
    sessions = world.app.extensions["stagecraft_db"].sessions
    with sessions() as s:
        rep_a, marketer = world.actor("rep_a"), world.actor("marketer")
        opp, contact = world.ids["opportunity"], world.ids["contact"]
        opp_service.add_note(s, rep_a, opp, "Called, left a message")
        opp_service.update_opportunity(s, rep_a, opp, {"products": [
            {"name": "Widget", "quantity": 2, "special_price": 9.5}, {"name": "Setup", "quantity": 1}]})
        opp_service.set_checklist_item(s, rep_a, opp, world.ids["checklist_item"], True)
        contact_service.ensure_tag(s, "hot")
        campaign = campaign_service.create_campaign(s, marketer, "Outreach", outreach_graph())
        publishing.publish(s, marketer, campaign.id)
        contact_service.apply_tag(s, rep_a, contact, "hot")
        s.commit()
    config = RuntimeConfig(database_url=str(world.app.extensions["stagecraft_db"].engine.url), batch_size=50)
    while run_due(sessions, worker_id="schemas", config=config):
        pass


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    world = build_world(Path(tmp_path_factory.mktemp("replies")))
    enrich(world)
    world.snapshot()
    yield world
    world.close()


def test_every_operation_replies_as_documented(world: World) -> None:
    """Each operation, as each caller it lets in, answers its declared status with a body matching its schema."""
    client = world.app.test_client()
    covered: set[str] = set()

    def call(method: str, path: str, who: str, body: Any = None, form: Any = None) -> TestResponse:
        headers = world.headers(None if who == "anonymous" else who)
        if form is not None:  # a multipart upload (the CSV import)
            response = client.open(path, method=method, headers=headers, data=form, content_type="multipart/form-data")
        else:
            response = client.open(path, method=method, headers=headers, json=body)
        CHECKER.check(world.app, method, path.split("?")[0], response)
        if 200 <= response.status_code < 300:
            op = CHECKER.operation(world.app, method, path.split("?")[0])
            assert op is not None
            covered.add(op["operationId"])
        return response

    for method, rule in sorted(api_routes(world), key=lambda mr: (mr[1], mr[0])):
        decision = DECISIONS[(method, rule)]
        for caller, expected in zip(CALLERS, decision.expect, strict=True):
            if not 200 <= expected < 300:
                continue
            world.restore()
            form = decision.form(world, caller) if decision.form is not None else None
            response = call(method, concrete(world, rule, decision), caller, decision.body_for(world, caller), form)
            assert response.status_code == expected, (method, rule, caller, response.get_data(as_text=True)[:200])

    # the replies of other shapes: a publish preview, archived campaigns listed, a draft deleted outright
    world.restore()
    campaign = world.ids["campaign"]
    preview = call("POST", f"{P}/campaigns/{campaign}/publish?dry_run=1", "marketer")
    assert preview.get_json()["dry_run"] is True
    assert call("DELETE", f"{P}/campaigns/{campaign}", "marketer").get_json() == {"result": "archived"}
    assert campaign in [c["id"] for c in call("GET", f"{P}/campaigns?include_archived=1", "admin").get_json()]
    draft = call("POST", f"{P}/campaigns", "marketer", {"name": "Scratch"}).get_json()
    assert call("DELETE", f"{P}/campaigns/{draft['id']}", "marketer").get_json() == {"result": "deleted"}
    world.restore()

    # the seeded rows reached the item schemas
    outbox = call("GET", f"{P}/outbox", "admin").get_json()
    assert {m["kind"] for m in outbox} == {"email", "http_post"}
    record = call("GET", f"{P}/opportunities/{world.ids['opportunity']}", "rep_a").get_json()
    assert record["notes"] and record["products"] and record["sequences"] and record["shares"] and record["tasks"]
    assert any(item["done_at"] for item in record["checklist"])
    reps_view = call("GET", f"{P}/campaigns", "rep_a").get_json()
    assert reps_view and all(set(c) == {"id", "name", "status"} for c in reps_view)

    every = {op["operationId"] for _p, _m, op in operations(CHECKER.document(world.app).content)}
    assert covered == every, f"operations never called with success: {sorted(every - covered)}"
