"""The engine's static import graph: no cycles, never Streamlit or the dashboard, and every import
points the way docs/architecture.md ("Layers") says (leaves → agent → run → analysis → loops → cli).

Every ``import`` counts, including those inside functions: a cycle hidden in a function is still
a cycle a newcomer has to untangle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "automem_core"
# The layers of docs/architecture.md, lowest first. A module imports its own layer or a lower one.
LAYERS: dict[str, int] = {
    "envs": 0,
    "memory": 0,
    "llm": 0,
    "scaffold": 0,
    "store": 0,
    "search": 0,  # the index is part of what compaction writes
    "agent": 1,
    "run": 2,
    "analysis": 3,
    "review": 4,
    "mining": 4,
    "export": 4,
    "cli": 5,
    "testing": 6,  # stands on everything; nothing in the engine stands on it
}
FORBIDDEN = ("streamlit", "dashboard")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Every module ``path`` imports, anywhere in the file (resolved to known engine modules,
    or kept as written for outside packages)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in known else node.module)
    return found


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.get(parts[1], 0) if len(parts) > 1 else 0


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(path, known) for name, path in mods.items()}


def test_no_module_imports_streamlit_or_the_dashboard():
    bad = sorted(
        (m, i) for m, deps in graph().items() for i in deps if i.split(".")[0] in FORBIDDEN
    )
    assert bad == []


def test_imports_point_down_the_layers():
    g = graph()
    wrong = sorted(
        (m, d)
        for m, deps in g.items()
        for d in deps
        if d.startswith("automem_core") and layer(d) > layer(m)
    )
    assert wrong == [], "imports against the layers' direction"


def test_there_is_no_import_cycle():
    # A module re-importing itself (``python -m`` sharing its classes) is not a cycle.
    g = {m: {d for d in deps if d in modules() and d != m} for m, deps in graph().items()}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(g.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(g):
        if node not in state:
            visit(node)
    assert cycles == []


@pytest.mark.parametrize(
    ("importer", "imported"),
    [("automem_core.run.plan", "automem_core.analysis.runs"), ("automem_core.store.x", "y")],
)
def test_the_layer_check_would_catch_a_wrong_import(importer, imported):
    """The check above is not vacuous: run importing analysis is against the direction."""
    against = imported.startswith("automem_core") and layer(imported) > layer(importer)
    assert against == importer.startswith("automem_core.run")
