"""The keep interface: Keep and the in-memory fake implement it, results are typed, and cli/
reaches a keep only through it."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest
from fake_keep import FakeKeep

import modelkeep
from modelkeep.interface import KeepInterface
from modelkeep.keep import Keep
from modelkeep.results import json_ready

SRC = Path(modelkeep.__file__).resolve().parent
METHODS = sorted(name for name, member in vars(KeepInterface).items()
                 if callable(member) and not name.startswith("_"))

# what cli/ may import of modelkeep besides itself: the interface and the result types'
# modules, errors, settings, opening a keep, and the foundation (names, clock, redaction)
CLI_MAY_IMPORT = {
    "modelkeep.interface", "modelkeep.results", "modelkeep.errors", "modelkeep.config",
    "modelkeep.keep", "modelkeep.clock", "modelkeep.redact", "modelkeep.schema",
    "modelkeep.registry.views",  # VersionListing, the result type of `list NAME`
    "modelkeep.registry.records",  # VersionRecord, a result type (annotations only)
    # command-line KEY=VALUE parsing: i9-layers moves it down to modelkeep._assignments
    "modelkeep.registry.registration", "modelkeep._assignments",
    "modelkeep.registry.gates",  # GatePolicy, the value type of `deploy --max-error-rate ...`
    # DeployConfig, the value type of `deploy --config FILE --timeout --env ...` (and its reader)
    "modelkeep.registry.deploy_config",
    # `modelkeep gateway` starts one; the gateway itself sees only the interface too
    "modelkeep.gateway.app", "modelkeep.gateway.serve", "modelkeep.gateway.multiprocess",
    "modelkeep.gateway.memory",  # --memory-limit
    "modelkeep.gateway.fake_provider",  # `modelkeep demo` starts it as its hosted model's upstream
    # `modelkeep loadtest` and `drill` (docs/loadtest.md)
    "modelkeep.loadtest.plan", "modelkeep.loadtest.report", "modelkeep.loadtest.runner",
    "modelkeep.loadtest.drill",
    "modelkeep.registry.drills",  # Switch, a part of DrillResult (annotations only)
}


def test_keep_implements_the_interface(keep: Keep) -> None:
    assert isinstance(keep, KeepInterface)
    assert isinstance(FakeKeep(), KeepInterface)


def test_keep_methods_have_the_interface_signatures() -> None:
    """Every parameter of the protocol, with the same kind and default (mypy checks the types);
    Keep may take more, as keywords with defaults (or ``**options``)."""
    for name in METHODS:
        want = inspect.signature(getattr(KeepInterface, name)).parameters
        got = inspect.signature(getattr(Keep, name)).parameters
        open_ended = any(p.kind is p.VAR_KEYWORD for p in got.values())
        for param in want.values():
            if param.name not in got and open_ended and param.kind is param.KEYWORD_ONLY:
                continue  # taken by Keep's **options
            mine = got[param.name]
            assert (mine.kind, mine.default) == (param.kind, param.default), f"{name}({mine})"
        for extra in set(got) - set(want):
            assert got[extra].kind is inspect.Parameter.VAR_KEYWORD or (
                got[extra].kind is inspect.Parameter.KEYWORD_ONLY
                and got[extra].default is not inspect.Parameter.empty), f"{name}({extra})"


def test_results_are_named_types_never_any_or_plain_dicts() -> None:
    for name in METHODS:
        returned = str(inspect.signature(getattr(KeepInterface, name)).return_annotation)
        assert "Any" not in returned, f"{name} -> {returned}"
        keep_returns = str(inspect.signature(getattr(Keep, name)).return_annotation)
        assert re.sub(r"\w+\.", "", keep_returns) == returned, f"Keep.{name} -> {keep_returns}"


def test_the_keeps_parts_are_not_the_interface() -> None:
    """db, store and settings stay attributes of the local Keep, never of the protocol."""
    assert {"db", "store", "settings", "remote", "pins_dir", "own_folders"}.isdisjoint(METHODS)


def test_every_read_of_the_keep_gives_json_through_its_result_types(keep: Keep, make_model
                                                                     ) -> None:
    info = keep.register("bert", make_model(keep.settings.root / "m"), params={"lr": 0.1})
    keep.add_note(info.ref, "first")
    view = keep.show(info.ref)
    assert view.info == info and view.params == {"lr": 0.1}
    assert view["params"] == {"lr": 0.1}  # scripts written for the old dicts still read it
    assert json_ready(view)["records"][0]["value"] == "first"
    assert json_ready({"nan": float("nan"), "views": [view]})["nan"] == "NaN"
    assert list(keep.remotes()) == []


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_cli_reaches_the_keep_only_through_the_interface() -> None:
    problems = sorted(
        f"{path.relative_to(SRC)} imports {name}"
        for path in (SRC / "cli").rglob("*.py") for name in _imports(path)
        if name.startswith("modelkeep.") and not name.startswith("modelkeep.cli")
        and name not in CLI_MAY_IMPORT
        and not name.startswith("modelkeep.schema."))  # the metadata schema: cli reads files with it
    assert problems == []


def test_mypy_checks_that_an_implementation_satisfies_the_interface(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake passes mypy; the same fake with one result type changed does not."""
    from mypy import api

    monkeypatch.setenv("MYPYPATH", str(SRC.parent))  # modelkeep's own source, fully typed
    fake = Path(__file__).parent / "fake_keep.py"
    broken = tmp_path / "broken_keep.py"
    broken.write_text(fake.read_text().replace("def models(self) -> list[ModelSummary]:",
                                               "def models(self) -> list[str]:"))
    args = ["--cache-dir", str(tmp_path / "cache"), "--no-error-summary"]
    out, _, status = api.run([str(fake), *args])
    assert status == 0, out
    out, _, status = api.run([str(broken), *args])
    assert status == 1 and 'Incompatible return value type (got "FakeKeep"' in out, out
    assert "def models(self) -> list[str]" in out
