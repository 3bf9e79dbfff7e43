"""The privacy package has no import cycles, counting imports inside functions (a deferred
import hides a cycle from Python, not from a reader), and imports nothing of ours but storage."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "privacy"


def _module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(tree: ast.AST) -> set[str]:
    """Every module name an import anywhere in the tree names (`from a import b` names `a` and
    `a.b`: b may be a submodule)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    modules = {_module_name(p, package): p for p in package.rglob("*.py")}
    return {
        name: {m for m in _imported(ast.parse(path.read_text("utf-8"))) if m in modules} - {name}
        for name, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of modules (Tarjan), each as a path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_privacy_has_no_import_cycles() -> None:
    graph = import_graph()
    assert "privacy.dsr_decisions" in graph and "privacy.datamap" in graph
    assert cycles(graph) == []


def test_the_check_finds_a_cycle_through_a_function_level_import(tmp_path: Path) -> None:
    package = tmp_path / "privacy"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from privacy.b import g\n\ndef f():\n    return g()\n")
    (package / "b.py").write_text("def g():\n    from privacy import a\n\n    return a\n")
    (package / "c.py").write_text("import privacy.a\n")
    assert cycles(import_graph(package)) == [["privacy.a", "privacy.b"]]


def test_privacy_imports_only_storage_of_ours() -> None:
    ours = {"bot", "graph_sync", "juno", "storage", "privacy"}
    for path in PACKAGE.rglob("*.py"):
        top = {m.split(".")[0] for m in _imported(ast.parse(path.read_text("utf-8")))}
        assert top & ours <= {"storage", "privacy"}, path
