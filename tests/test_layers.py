"""Arrows point down only (DESIGN.md): a layer never imports one above it or beside it.

Every top-level module and package of ``modelkeep`` (a "unit") has a rule naming the units it
may import; a new module without a rule fails ``test_every_unit_has_a_rule``. An import is
seen wherever it is written (inside functions, under ``if TYPE_CHECKING:``), however it is
spelled (``from modelkeep import Keep`` is resolved through the package's lazy exports to the
module that defines ``Keep``; relative imports are resolved against the importing file), and
also when it is a string (``importlib.import_module("modelkeep.x")``, a lazy ``_EXPORTS`` table).
"""

from __future__ import annotations

import ast
from pathlib import Path

import modelkeep

SRC = Path(modelkeep.__file__).resolve().parent

# the foundation: small top-level modules every layer may use (each with its own rule below)
BASE = {"errors", "redact", "clock", "limits", "_metric", "config", "_names", "_assignments", "results"}
LOW = BASE | {"storage", "schema", "db"}
# everything below the public facade
LIBRARY = LOW | {"registry", "tracking"}
PRESENTATION = {"cli", "server", "gateway", "client", "__main__"}

# unit -> the other units it may import
ALLOWED: dict[str, set[str]] = {
    # redact.py: every layer masks secrets with it (errors.py included), so it imports none
    # but _lazy (lazy_pattern), which imports nothing of modelkeep
    "redact": {"_lazy"},
    "_lazy": set(),
    # results.py: the JSON form every result type shares, so it imports none
    "results": set(),
    "limits": set(),
    "errors": {"redact"},
    "clock": {"errors"},
    "_metric": {"errors"},
    "_names": {"errors"},
    "_assignments": {"errors", "limits"},
    "config": {"errors", "redact", "_lazy"},
    "storage": {"errors", "redact", "limits", "clock", "results", "_lazy"},
    "schema": {"errors", "redact", "limits", "clock", "_lazy", "results"},
    "db": {"errors", "redact", "limits", "clock", "config", "results"},
    # registry and tracking sit side by side: neither imports the other, nor anything above
    "registry": LOW | {"_lazy"},  # _lazy: registry/loaders/__init__.py's lazy re-exports
    "tracking": LOW,
    # the public facade and what stands beside it (run.py: the Run a script logs to;
    # interface.py: the typed protocol of a keep; script.py: start_run opening the keep)
    "run": LIBRARY,
    "interface": LIBRARY | {"run"},
    "keep": LIBRARY | {"run", "interface"},
    "script": LIBRARY | {"run", "keep"},
    "__init__": LIBRARY | {"run", "interface", "keep", "script", "_lazy"},
    # presentation and serving stand on the facade and its interface, never on db, storage
    # or tracking internals (cli still does today: its narrower rule is a test of its own)
    # (cli may import gateway: `modelkeep gateway` starts one; gateway never imports cli)
    "cli": LIBRARY | {"run", "interface", "keep", "script", "_lazy", "gateway", "loadtest"},
    "server": BASE | {"schema", "registry", "run", "interface", "keep", "_lazy"},
    "gateway": BASE | {"schema", "registry", "run", "interface", "keep", "_lazy"},
    "client": BASE | {"schema", "interface", "_lazy"},
    # load tests and drills: HTTP from outside a server, through the keep's interface only
    "loadtest": BASE | {"interface", "registry"},
    "__main__": {"cli"},
}
# The CLI sees the keep through its interface only: no database, store or tracking internals.
CLI_NEVER = {"db", "storage", "tracking"}
ONLY_IN = {"click": {"cli"}, "fastapi": {"server", "gateway"}, "starlette": {"server", "gateway"},
           "sqlalchemy": {"db"}, "alembic": {"db"}}


def _units() -> set[str]:
    """The top-level modules and packages of modelkeep."""
    return {p.stem if p.is_file() else p.name for p in SRC.iterdir()
            if (p.suffix == ".py" or (p / "__init__.py").is_file())}


def _resolve_public(name: str) -> str:
    """``from modelkeep import name``: a submodule, else the module that defines the export."""
    if (SRC / f"{name}.py").is_file() or (SRC / name / "__init__.py").is_file():
        return f"modelkeep.{name}"
    return modelkeep._EXPORTS.get(name, f"modelkeep.<unknown {name}>")


def _is_module(name: str) -> bool:
    """Whether ``modelkeep.a.b`` names a module or package of modelkeep."""
    parts = name.split(".")
    if parts[0] != "modelkeep" or len(parts) < 2:
        return False
    where = SRC.joinpath(*parts[1:])
    return where.with_suffix(".py").is_file() or (where / "__init__.py").is_file()


def _package_of(path: Path) -> list[str]:
    rel = path.relative_to(SRC).with_suffix("").parts
    parts = ["modelkeep", *rel]
    return parts if path.name == "__init__.py" else parts[:-1]


def imports_of(source: str, path: Path) -> set[str]:
    """Every modelkeep module (and third-party top package) ``source`` imports, anywhere in it."""
    tree = ast.parse(source)
    names: set[str] = set()
    plain = False  # ``import modelkeep``: its attributes are resolved below
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names.add(alias.name)
                plain |= alias.name == "modelkeep" and alias.asname is None
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(path)[: len(_package_of(path)) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module == "modelkeep":
                names.update(_resolve_public(a.name) for a in node.names)
            else:
                names.add(module)
                names.update(f"{module}.{a.name}" for a in node.names
                             if _is_module(f"{module}.{a.name}"))
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            names.add(node.args[0].value)
        elif (isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Dict)
              and any(getattr(t, "id", None) == "_EXPORTS"
                      for t in (node.targets if isinstance(node, ast.Assign) else [node.target]))):
            names.update(v.value for v in node.value.values
                         if isinstance(v, ast.Constant) and isinstance(v.value, str))
    if plain:
        names.update(_resolve_public(node.attr) for node in ast.walk(tree)
                     if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                     and node.value.id == "modelkeep")
    return names


def _unit(path: Path) -> str:
    return path.relative_to(SRC).parts[0].removesuffix(".py")


def _sources() -> list[Path]:
    return [p for p in SRC.rglob("*.py")
            if "migrations" not in p.parts and not p.name.endswith("_pb2.py")]


def _imported_units(path: Path) -> set[tuple[str, str]]:
    """(unit, full name) of each modelkeep module ``path`` imports outside its own unit."""
    own = _unit(path)
    found = set()
    for name in imports_of(path.read_text(), path):
        parts = name.split(".")
        if parts[0] == "modelkeep" and len(parts) > 1 and parts[1] != own:
            found.add((parts[1].split(" ")[0].lstrip("<"), name))
    return found


def test_every_unit_has_a_rule():
    assert sorted(_units() - set(ALLOWED)) == []


def test_layers_import_downwards_only():
    problems = []
    for path in _sources():
        unit = _unit(path)
        for target, name in _imported_units(path):
            if target not in ALLOWED.get(unit, set()):
                problems.append(f"{path.relative_to(SRC)} imports {name}")
        for name in imports_of(path.read_text(), path):
            top = name.split(".")[0]
            if top in ONLY_IN and unit not in ONLY_IN[top]:
                problems.append(f"{path.relative_to(SRC)} imports {top} (only {ONLY_IN[top]})")
    assert sorted(problems) == []


def test_cli_sees_only_the_interface():
    problems = sorted(f"{path.relative_to(SRC)} imports {name}"
                      for path in _sources() if _unit(path) == "cli"
                      for target, name in _imported_units(path) if target in CLI_NEVER)
    assert problems == []


def test_the_import_reader_sees_every_spelling(tmp_path):
    """The rules are only as good as the reader: nested, typing-only, relative, public-name,
    attribute and string imports are all seen."""
    source = (
        "from __future__ import annotations\n"
        "import modelkeep\n"
        "from typing import TYPE_CHECKING\n"
        "from modelkeep import Keep, config\n"
        "from . import runs\n"
        "from ..registry import refs\n"
        "if TYPE_CHECKING:\n"
        "    from modelkeep.db.database import Database\n"
        "def f():\n"
        "    def g():\n"
        "        import modelkeep.storage.objects\n"
        "        from modelkeep.schema.formats import dump_metadata\n"
        "    return importlib.import_module('modelkeep.cli.main'), modelkeep.VersionInfo\n"
    )
    found = imports_of(source, SRC / "tracking" / "example.py")
    assert {"modelkeep.keep", "modelkeep.config", "modelkeep.tracking.runs",
            "modelkeep.registry.refs", "modelkeep.db.database", "modelkeep.storage.objects",
            "modelkeep.schema.formats", "modelkeep.cli.main",
            modelkeep._EXPORTS["VersionInfo"]} <= found
    assert _resolve_public("NoSuchName").endswith("<unknown NoSuchName>")


def test_library_code_never_prints():
    offenders = []
    for path in SRC.rglob("*.py"):
        if _unit(path) in {"cli"} or path.name.endswith("_pb2.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                offenders.append(str(path.relative_to(SRC)))
    assert offenders == []
