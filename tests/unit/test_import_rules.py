"""The import rules the architecture promises (docs/architecture.md), read from the source: one
direction between packages, and no cycles between modules, imports inside functions included
(a cycle hidden in a function is still a cycle, only a later one)."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("storage", "privacy", "entra", "graph_sync", "bot", "juno", "manifest")
# Which of our packages each package may import (itself always). `entra` (identity plumbing)
# imports nothing of ours, so bot and graph_sync can share it without meeting.
ALLOWED: dict[str, set[str]] = {
    "storage": set(),
    "privacy": {"storage"},
    "entra": set(),
    "graph_sync": {"storage", "privacy", "entra"},
    "bot": {"storage", "privacy", "entra"},
    "manifest": set(),
    "juno": {"storage", "privacy", "entra", "graph_sync", "bot", "manifest"},
}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imported(module: str, path: Path) -> Iterator[str]:
    """Every module of ours `module` imports, anywhere in its body."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module:
                yield name


GRAPH: dict[str, set[str]] = defaultdict(set)
for _module, _path in MODULES.items():
    GRAPH[_module].update(_imported(_module, _path))


def test_packages_import_only_in_the_one_direction() -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if (src := module.split(".")[0]) != (dst := target.split(".")[0])
        and dst not in ALLOWED[src]
    )
    assert wrong == []


def test_bot_and_graph_sync_never_meet() -> None:
    meet = [
        (m, t)
        for m, targets in GRAPH.items()
        for t in targets
        if {m.split(".")[0], t.split(".")[0]} == {"bot", "graph_sync"}
    ]
    assert meet == []


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in MODULES:
        if root in index:
            continue
        work = [(root, iter(sorted(GRAPH[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(GRAPH[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_imports_itself_through_others() -> None:
    assert _cycles() == []


def test_the_checks_see_the_imports_they_judge() -> None:
    """The scan itself: it must find imports inside functions and relative ones, or the tests
    above would pass on a tree they cannot read."""
    assert "storage.scoped" in GRAPH["storage.repositories"] or any(
        t.startswith("storage.") for t in GRAPH["storage.repositories"]
    )
    assert "privacy.datamap" in GRAPH["privacy.retention"]
    assert any(t.startswith("bot.") for t in GRAPH["juno.serve"])
    assert "entra.signing_keys" in GRAPH["bot.auth"] and "entra.clock" in GRAPH["graph_sync.lease"]
    assert len(MODULES) > 100
