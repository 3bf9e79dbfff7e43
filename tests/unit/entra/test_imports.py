"""entra is the shared home of identity plumbing because it imports nothing of ours: bot and
graph_sync (which never import each other) both use it, so it must not lead back to either,
not even through an import inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
OURS = {"bot", "entra", "graph_sync", "juno", "manifest", "privacy", "storage"}


def imported(package: str) -> dict[str, set[str]]:
    """Each module of `package` -> the top-level packages of ours it imports, at any depth."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names & OURS
    return found


def test_entra_imports_nothing_of_ours() -> None:
    modules = imported("entra")
    assert "entra/signing_keys.py" in modules and "entra/msal_clients.py" in modules
    assert {module: names - {"entra"} for module, names in modules.items()} == {
        module: set() for module in modules
    }


def test_bot_and_graph_sync_never_import_each_other() -> None:
    assert not [m for m, names in imported("bot").items() if "graph_sync" in names]
    assert not [m for m, names in imported("graph_sync").items() if "bot" in names]
