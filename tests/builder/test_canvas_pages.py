"""The campaign pages: list and canvas shells, roles, CSP-friendly markup."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from tests.builder.conftest import ApiActions


def _page(api: ApiActions, username: str, path: str) -> Any:
    if username not in api.users:
        api.add_user(username, role={"admin": "admin", "marketer": "marketer"}.get(username, "rep"))
    api.login_session(username)
    return api.client.get(path)


def test_list_requires_login(client: FlaskClient) -> None:
    """Anonymous visitors are sent to the login page."""
    response = client.get("/campaigns")
    assert response.status_code in (302, 401)


def test_marketer_list_has_edit_controls(api: ApiActions) -> None:
    """Marketers get create/import controls and the full table columns."""
    html = _page(api, "marketer", "/campaigns").get_data(as_text=True)
    assert 'data-can-edit="1"' in html
    assert 'id="new-campaign"' in html and 'id="import-campaign"' in html
    assert "Contacts active" in html and "Last published" in html
    assert "js/campaign_list.js" in html


def test_rep_list_has_names_only(api: ApiActions) -> None:
    """Reps see the list without edit, publish or import controls."""
    html = _page(api, "rep1", "/campaigns").get_data(as_text=True)
    assert 'data-can-edit="0"' in html
    assert 'id="new-campaign"' not in html and 'id="import-campaign"' not in html
    assert "Contacts active" not in html and "Publish" not in html


def test_canvas_page_for_marketer(api: ApiActions) -> None:
    """The canvas shell carries the campaign id and loads the vendored libraries in order, no inline script."""
    api.add_user("marketer", role="marketer")
    campaign = api.ok("POST", "/campaigns", {"name": 'Q3 <script>alert(1)</script>'}, as_user="marketer", status=201)
    html = _page(api, "marketer", f"/campaigns/{campaign['id']}").get_data(as_text=True)
    assert f'data-campaign-id="{campaign["id"]}"' in html
    assert "<script>alert(1)</script>" not in html  # escaped by Jinja
    scripts = re.findall(r'<script src="/static/([^"]+)"', html)
    order = ["vendor/vue-3.5.45.global.prod.js", "js/vueflow_shim.js", "vendor/vue-flow-core-1.48.2.iife.js",
             "vendor/vue-flow-minimap-1.5.4.iife.js",
             "vendor/vue-flow-background-1.3.2.iife.js", "js/flow_adapter.js", "js/canvas/rules.js",
             "js/canvas/branch_panel.js", "js/canvas_app.js"]
    positions = [scripts.index(s) for s in order]
    assert positions == sorted(positions)
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline scripts are forbidden by the CSP"
    assert not re.search(r"\son[a-z]+=", html), "no inline event handlers"
    # The zoom buttons are the canvas's own (with accessible names), not Vue Flow's unnamed ones.
    assert "vue-flow-controls" not in html


def test_canvas_page_refuses_reps_and_unknown(api: ApiActions) -> None:
    """Reps get 403 on a canvas; an unknown campaign is a 404."""
    api.add_user("marketer", role="marketer")
    campaign = api.ok("POST", "/campaigns", {"name": "Hidden"}, as_user="marketer", status=201)
    assert _page(api, "rep1", f"/campaigns/{campaign['id']}").status_code == 403
    api.client.post("/logout")
    assert _page(api, "marketer", "/campaigns/999999").status_code == 404


def test_only_the_adapter_touches_vue_flow() -> None:
    """VueFlowCore/MiniMap/Controls/Background globals appear in flow_adapter.js only (canvas modules included)."""
    from pathlib import Path

    js = Path(__file__).resolve().parents[2] / "canvas_static" / "js"
    offenders = [p.name for p in js.rglob("*.js") if p.name not in ("flow_adapter.js", "vueflow_shim.js")
                 and re.search(r"VueFlow(Core|MiniMap|Controls|Background)", p.read_text())]
    assert offenders == []
    ours = ["campaign_list.js", "canvas_app.js", "canvas_template.js", "clipboard.js", "flow_adapter.js", "forms.js",
            "history.js", "icons.js"]
    assert {"graph.js", "nodes.js", "panel.js"} <= {p.name for p in (js / "canvas").glob("*.js")}
    for path in [js / name for name in ours] + sorted((js / "canvas").glob("*.js")):
        text = path.read_text()
        assert "v-html" not in text and "innerHTML" not in text, path.name
