"""Live job progress: each committed chunk is pushed to the job's room, which only its starter and admins join."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from builder import live
from builder import sockets
from builder.extensions import socketio
from runtime.jobs import imports
from runtime.jobs import runner
from tests.builder.conftest import ApiActions


@pytest.fixture
def pushes() -> Iterator[list[tuple[str, str, dict[str, Any]]]]:
    seen: list[tuple[str, str, dict[str, Any]]] = []
    subscriber = live.LivePushes(lambda room, name, payload: seen.append((room, name, payload))).install()
    yield seen
    subscriber.uninstall()


def test_every_chunk_of_an_import_is_pushed_to_the_job_room(api: ApiActions, pushes: list[Any],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "ROWS_PER_CHUNK", 2)
    data = "Email\n" + "".join(f"p{i}@example.com\n" for i in range(3))
    response = api.call("POST", "/contacts/import", data={"file": (io.BytesIO(data.encode()), "p.csv"),
                                                          "mapping": json.dumps({"Email": "email"})},
                        content_type="multipart/form-data")
    job_id = response.get_json()["job_id"]
    runner.run_pending(api.sessions(), "pushes")
    heard = [(p["status"], p["done"], p["total"]) for room, name, p in pushes if room == live.job_room(job_id)]
    assert heard == [("queued", 0, None), ("running", 0, None), ("running", 0, 3), ("running", 2, 3),
                     ("done", 3, 3)]
    assert all(name == "job" for room, name, _ in pushes if room.startswith("job:"))


def test_only_the_starter_and_admins_join_a_job_room(api: ApiActions) -> None:
    app = api.app
    socketio.init_app(app, async_mode="threading", manage_session=False)
    sockets.init_app(app)
    api.add_user("marketer2", "marketer")
    contact = api.contact()
    job_id = api.ok("POST", "/contacts/bulk", {"contact_ids": [contact["id"]], "action": "export"},
                    as_user="marketer", status=202)["job_id"]
    room = live.job_room(job_id)

    def joins(username: str) -> bool:
        client = socketio.test_client(app, auth={"token": api.token(username)})
        try:
            return bool(client.emit("join", {"room": room}, callback=True)["ok"])
        finally:
            client.disconnect()

    assert joins("marketer") and joins("admin")
    assert not joins("marketer2") and not joins("rep1")
