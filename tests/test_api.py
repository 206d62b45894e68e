"""The public API: a curated, sorted __all__ whose every name resolves."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import modelkeep


def test_all_is_sorted_and_unique():
    assert modelkeep.__all__ == sorted(set(modelkeep.__all__))


def test_every_public_name_resolves():
    for name in modelkeep.__all__:
        assert getattr(modelkeep, name) is not None, name


def test_import_is_lazy():
    """``import modelkeep`` loads none of the heavy layers (start-up budget of the CLI)."""
    code = ("import sys, modelkeep; heavy = [m for m in ('pydantic', 'sqlalchemy', 'rich', "
            "'modelkeep.keep') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# -- completeness ------------------------------------------------------------------------------

# Modules whose public dataclasses and pydantic models are results that Keep returns (they are
# part of the public API), with the classes there that are internal working state instead.
RESULT_MODULES: dict[str, set[str]] = {
    "modelkeep.registry.versions": set(),
    "modelkeep.registry.aliases": set(),
    "modelkeep.registry.records": set(),
    "modelkeep.registry.diff": set(),
    "modelkeep.registry.integrity": set(),
    "modelkeep.registry.publish": set(),
    "modelkeep.registry.rollout": set(),
    "modelkeep.registry.deployments": set(),
    "modelkeep.registry.feedback": set(),
    "modelkeep.registry.costs": set(),
    "modelkeep.registry.payloads": set(),
    "modelkeep.registry.gates": set(),
    "modelkeep.registry.serving": set(),
    "modelkeep.registry.roots": {"Roots"},  # gc's working set of reachable roots
    "modelkeep.storage.checkout": set(),
    "modelkeep.storage.lfs": {"LfsPointer"},  # a parsed pointer file, read inside lfs.py
    "modelkeep.storage.pointers": set(),
    "modelkeep.tracking.runs": set(),
    "modelkeep.tracking.history": set(),
    # the reads that return dicts today: a result type defined there is caught once it exists
    "modelkeep.registry.views": set(),
    "modelkeep.tracking.query": set(),
    "modelkeep.tracking.datasets": set(),
    "modelkeep.tracking.views": set(),
    "modelkeep.tracking.execute": set(),
    "modelkeep.storage.pointer_results": set(),
    "modelkeep.storage.remotes": set(),
    "modelkeep.registry.documents": set(),
    "modelkeep.db.migrate": set(),
}
# Modules every public class of which is exported: the errors and the keep's interface
# (interface.py, when present on the branch: the protocol KeepInterface and its kin).
WHOLLY_PUBLIC = ("modelkeep.errors", "modelkeep.interface")


def _defined_classes(module_name: str) -> dict[str, type]:
    module = importlib.import_module(module_name)
    return {name: obj for name, obj in vars(module).items()
            if inspect.isclass(obj) and obj.__module__ == module_name and not name.startswith("_")}


def _is_result(cls: type) -> bool:
    return dataclasses.is_dataclass(cls) or hasattr(cls, "model_fields")


def test_exports_are_written_sorted():
    assert list(modelkeep._EXPORTS) == sorted(modelkeep._EXPORTS)
    assert modelkeep.__all__ == list(modelkeep._EXPORTS)


def test_every_error_class_and_the_interface_are_exported():
    missing = []
    for module_name in WHOLLY_PUBLIC:
        if importlib.util.find_spec(module_name) is None:
            continue  # interface.py comes with the interface branch
        missing += [f"{module_name}.{n}" for n in _defined_classes(module_name)
                    if n not in modelkeep.__all__]
    assert missing == []
    errors = _defined_classes("modelkeep.errors")
    assert len(errors) > 30 and all(issubclass(c, modelkeep.ModelkeepError) for c in errors.values())


def test_every_result_type_and_run_are_exported():
    missing = [f"{module_name}.{name}" for module_name, internal in RESULT_MODULES.items()
               for name, cls in _defined_classes(module_name).items()
               if _is_result(cls) and name not in internal and name not in modelkeep.__all__]
    assert missing == []
    assert "Run" in modelkeep.__all__ and "start_run" in modelkeep.__all__


def test_every_export_resolves_to_the_module_that_defines_it():
    wrong = []
    for name in modelkeep.__all__:
        obj = getattr(modelkeep, name)
        if getattr(obj, "__module__", None) != modelkeep._EXPORTS[name]:
            wrong.append(f"{name}: {getattr(obj, '__module__', None)} != {modelkeep._EXPORTS[name]}")
    assert wrong == []
    assert set(modelkeep.__all__) <= set(dir(modelkeep))


def test_every_export_has_its_own_docstring():
    """Its own: not inherited, and not the signature a dataclass writes when there is none."""
    bare = []
    for name in modelkeep.__all__:
        obj = getattr(modelkeep, name)
        doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
        if not doc or not doc.strip() or doc.startswith(f"{name}("):
            bare.append(name)
    assert bare == []


def test_errors_are_caught_by_their_public_name(tmp_path):
    keep = modelkeep.Keep.init(tmp_path)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.bin").write_bytes(b"w")
    try:
        keep.register("bert", tmp_path / "model")
        try:
            keep.resolve("bert@9.9.9")
        except modelkeep.VersionNotFoundError as exc:
            assert (exc.code, exc.exit_code) == ("version_not_found", 3)
        else:
            pytest.fail("no error for a version that does not exist")
        with pytest.raises(modelkeep.VersionNotFoundError) as caught:
            keep.resolve("bert@2.0.0")
        assert isinstance(caught.value, modelkeep.NotFoundError)
        assert isinstance(caught.value, modelkeep.ModelkeepError)
        try:
            keep.versions("no-such-model")
        except modelkeep.ModelNotFoundError as exc:
            assert exc.code == "model_not_found"
        else:
            pytest.fail("no error for an unknown model")
    finally:
        keep.close()


def test_type_checkers_see_the_same_names():
    """``if TYPE_CHECKING:`` imports in __init__.py give users typed names (not ``Any`` from
    ``__getattr__``); they must name exactly the exports, each from its defining module."""
    tree = ast.parse(Path(modelkeep.__file__).read_text())
    block = next(node for node in tree.body if isinstance(node, ast.If)
                 and getattr(node.test, "id", None) == "TYPE_CHECKING")
    typed = {alias.name: node.module for node in block.body if isinstance(node, ast.ImportFrom)
             for alias in node.names}
    assert typed == modelkeep._EXPORTS
    assert (Path(modelkeep.__file__).parent / "py.typed").is_file()  # PEP 561: types ship
