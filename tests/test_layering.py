"""Imports point one way: builder → runtime → models, with a pure graph core and no cycles (DESIGN.md §6.1)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("models", "runtime", "builder")
WEB = {"flask", "flask_socketio", "flask_login", "flask_wtf", "werkzeug"}
# The graph core does no I/O: no database, network, files, processes or clocks of its own.
IO = {"sqlalchemy", "models", "requests", "smtplib", "socket", "http", "urllib3", "os", "io", "pathlib",
      "subprocess", "shutil", "tempfile", "threading", "asyncio", "sqlite3", "psycopg", "redis", "apscheduler"}


def module_name(path: Path, root: Path = ROOT) -> str:
    """`runtime/graphs/graph.py` → `runtime.graphs.graph`; a package's `__init__.py` is the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def our_modules(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    """Every module of the packages (migrations excluded: they are data for Alembic)."""
    return {
        module_name(path, root): path
        for package in packages
        for path in sorted((root / package).rglob("*.py"))
        if "migrations" not in path.parts
    }


def imports_of(path: Path, root: Path = ROOT) -> set[str]:
    """Every dotted module a file imports, module-level and lazy (`from a.b import c` gives a.b and a.b.c)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def top_levels(path: Path) -> set[str]:
    """The top-level packages a file imports."""
    return {name.split(".")[0] for name in imports_of(path)}


@pytest.mark.parametrize("package, forbidden", [
    ("models", {"runtime", "builder"} | WEB),
    ("runtime", {"builder"} | WEB),
])
def test_package_does_not_import_upward(package: str, forbidden: set[str]) -> None:
    """models imports neither runtime nor builder; runtime never imports builder or Flask."""
    offenders = {
        name: sorted(top_levels(path) & forbidden)
        for name, path in our_modules().items()
        if name.split(".")[0] == package and top_levels(path) & forbidden
    }
    assert offenders == {}


def test_graph_core_is_pure() -> None:
    """runtime/graphs imports no SQLAlchemy, no models, no I/O, and nothing of the runtime outside itself."""
    offenders: dict[str, list[str]] = {}
    for name, path in our_modules().items():
        if not name.startswith("runtime.graphs"):
            continue
        bad = sorted(
            imported for imported in imports_of(path)
            if imported.split(".")[0] in IO | WEB | {"builder"}
            or (imported.startswith("runtime") and imported != "runtime" and not imported.startswith("runtime.graphs"))
        )
        if bad:
            offenders[name] = bad
    assert offenders == {}


def import_graph(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> nx.DiGraph[str]:
    """Our modules, with an edge A → B when A imports B.

    `from pkg import sub` is an edge to the module `pkg.sub` when that is a
    module, else (a name from `pkg/__init__.py`) to `pkg`. The parent packages
    Python imports implicitly before a module are not edges.
    """
    modules = our_modules(root, packages)
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        imported = imports_of(path, root)
        for target in imported:
            if target not in modules or target == name:
                continue
            submodules = {i for i in imported if i.startswith(target + ".") and i.count(".") == target.count(".") + 1}
            if submodules and all(sub in modules for sub in submodules) and target not in direct_imports(path, modules):
                continue  # `from target import sub, …`: the edges go to the submodules
            graph.add_edge(name, target)
    return graph


def direct_imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Modules named by `import x.y` statements, and packages a `from` takes a non-module name from."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if any(f"{node.module}.{alias.name}" not in modules for alias in node.names):
                found.add(node.module)
    return found


def test_no_import_cycles() -> None:
    """No module imports itself through others, lazily or not (the old events ↔ engine loop is gone)."""
    cycles = list(nx.simple_cycles(import_graph()))
    assert cycles == []


def test_the_cycle_check_sees_lazy_and_package_cycles(tmp_path: Path) -> None:
    """The check is not vacuous: a function-level import closing a loop, and an __init__ loop, are found."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from pkg.a import A\n")
    (pkg / "a.py").write_text("A = 1\n\ndef f():\n    from pkg import b\n")
    (pkg / "b.py").write_text("from pkg.a import A\nfrom pkg import thing  # a name from pkg/__init__\n")
    cycles = sorted(sorted(c) for c in nx.simple_cycles(import_graph(tmp_path, ("pkg",))))
    assert cycles == [["pkg", "pkg.a", "pkg.b"], ["pkg.a", "pkg.b"]]


def test_worker_process_loads_no_flask() -> None:
    """Importing the runtime (as `stagecraft worker` does, with its live pushes) pulls in no Flask at all."""
    code = ("import sys, runtime.loops, runtime.worker, runtime.campaigns, runtime.graphs.catalog; "
            "import builder.cli, builder.live; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'flask_socketio', 'werkzeug')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
