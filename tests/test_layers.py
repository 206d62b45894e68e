"""Arrows point down only (DESIGN.md): a layer never imports one above it."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "modelkeep"

# layer -> layers it must never import
FORBIDDEN: dict[str, set[str]] = {
    "storage": {"db", "registry", "tracking", "schema", "cli", "server", "client", "gateway",
                "keep"},
    "db": {"registry", "tracking", "cli", "server", "client", "gateway", "keep", "storage"},
    "schema": {"db", "registry", "tracking", "cli", "server", "client", "gateway", "keep",
               "storage"},
    "registry": {"cli", "server", "client", "gateway", "keep", "tracking"},
    "tracking": {"cli", "server", "client", "gateway"},
    "gateway": {"cli"},
    "server": {"cli"},
    # redact.py: every layer masks secrets with it (errors.py included), so it imports none
    "redact": {"db", "registry", "tracking", "schema", "cli", "server", "client", "gateway",
               "keep", "storage", "config", "errors", "clock"},
}
ONLY_IN = {"click": {"cli"}, "fastapi": {"server", "gateway"}, "starlette": {"server", "gateway"},
           "sqlalchemy": {"db"}, "alembic": {"db"}}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _layer(path: Path) -> str:
    rel = path.relative_to(SRC).parts
    return rel[0].removesuffix(".py")


def test_layers_import_downwards_only():
    problems = []
    for path in SRC.rglob("*.py"):
        if "migrations" in path.parts or path.name.endswith("_pb2.py"):
            continue
        layer = _layer(path)
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "modelkeep" and len(parts) > 1 and parts[1] in FORBIDDEN.get(layer, ()):
                problems.append(f"{path.relative_to(SRC)} imports {name}")
            top = parts[0]
            if top in ONLY_IN and layer not in ONLY_IN[top]:
                problems.append(f"{path.relative_to(SRC)} imports {top} (only {ONLY_IN[top]})")
    assert problems == []


def test_library_code_never_prints():
    offenders = []
    for path in SRC.rglob("*.py"):
        if _layer(path) in {"cli"} or path.name.endswith("_pb2.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                offenders.append(str(path.relative_to(SRC)))
    assert offenders == []
