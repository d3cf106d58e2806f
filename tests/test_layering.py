"""Imports point one way: builder → runtime → models (DESIGN.md §1)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(package: str) -> dict[str, set[str]]:
    """Every top-level module each file of a package imports (module-level and lazy)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize("package, forbidden", [
    ("models", {"runtime", "builder", "flask", "flask_socketio", "flask_login", "flask_wtf"}),
    ("runtime", {"builder", "flask", "flask_socketio", "flask_login", "flask_wtf", "werkzeug"}),
])
def test_package_does_not_import_upward(package: str, forbidden: set[str]) -> None:
    """models imports neither runtime nor builder; runtime never imports builder or Flask."""
    offenders = {f: sorted(names & forbidden) for f, names in imported_modules(package).items() if names & forbidden}
    assert offenders == {}


def test_worker_process_loads_no_flask() -> None:
    """Importing the runtime (as `stagecraft worker` does) pulls in no Flask at all."""
    code = ("import sys, runtime.loops, runtime.worker, runtime.campaigns, runtime.graphs.catalog; import builder.live; "
            "import builder.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'flask_socketio', 'werkzeug')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
