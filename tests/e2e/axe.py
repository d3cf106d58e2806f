"""axe-core (vendored, 4.14) in a Playwright page: WCAG 2.1 A/AA violations, each in one readable line."""

from __future__ import annotations

import typing as t
from pathlib import Path

from playwright.sync_api import Page

AXE = Path(__file__).resolve().parents[2] / "canvas_static" / "vendor" / "axe-core-4.14.1.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page: Page, *, include: str | None = None, exclude: t.Sequence[str] = ()) -> list[str]:
    """Run axe on the page (or the `include` selector) and return its violations, one line per node.

    The script is evaluated from the vendored file (the pages' CSP forbids
    inline scripts but allows eval, which Vue's templates need), so no page
    ever loads it.
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate("(source) => { (0, eval)(source); }", AXE.read_text(encoding="utf-8"))
    context: dict[str, t.Any] = {}
    if include:
        context["include"] = [include]
    if exclude:
        context["exclude"] = [[selector] for selector in exclude]
    result = page.evaluate(
        """async ([context, tags]) => {
            const out = await window.axe.run(Object.keys(context).length ? context : document,
                                             {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
            return out.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                                              nodes: v.nodes.map((n) => n.target.join(" "))}));
        }""",
        [context, WCAG_AA],
    )
    return [f"{v['impact']}: {v['id']} ({v['help']}) at {node}" for v in result for node in v["nodes"]]
