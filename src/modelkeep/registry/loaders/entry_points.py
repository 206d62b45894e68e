"""Importing ``module:attribute`` from a version's own files, and nothing else.

The module must be a file inside the version's checked-out code snapshot or artifacts (a
``.py`` file or a package's ``__init__.py``); a name that is not a dotted identifier, that
resolves to a file elsewhere (the standard library, site-packages, a symlink out), or that is
missing is ``EntryPointError`` before any code runs. The import happens with the version's
folders first on ``sys.path``; afterwards the version's modules are dropped from
``sys.modules`` and any module they shadowed is put back, so two versions of one model with a
``model.py`` each can be loaded side by side in one process (the gateway does).
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from modelkeep.errors import EntryPointError, ModelkeepError
from modelkeep.registry.loaders.base import failure
from modelkeep.schema.entry_point import ENTRY_POINT

_IMPORT_LOCK = threading.Lock()  # sys.path and sys.modules are process-wide


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    resolved = path.resolve()
    return any(resolved.is_relative_to(root.resolve()) for root in roots)


def module_file(module: str, roots: Sequence[Path]) -> Path | None:
    """The file of dotted ``module`` inside one of ``roots``, or None."""
    parts = module.split(".")
    for root in roots:
        base = root.joinpath(*parts)
        for candidate in (base.with_name(base.name + ".py"), base / "__init__.py"):
            if candidate.is_file() and _inside(candidate, [root]):
                return candidate
    return None


def import_entry_point(target: str, roots: Sequence[Path]) -> Any:
    """The object ``target`` (``module:attribute``) names in the version's files."""
    if not ENTRY_POINT.fullmatch(target or ""):
        raise EntryPointError(f"entry point {target!r} is not 'module:attribute'",
                              hint="e.g. --loader python:predict:run", entry_point=target)
    name, attr = target.split(":")
    if module_file(name, roots) is None:
        raise EntryPointError(
            f"entry point {target}: module '{name}' is not in the version's code snapshot or "
            "artifacts", entry_point=target)
    module = _import_isolated(name, roots)
    if not hasattr(module, attr):
        raise EntryPointError(f"entry point {target}: module '{name}' has no '{attr}'",
                              entry_point=target)
    return getattr(module, attr)


def _import_isolated(name: str, roots: Sequence[Path]) -> ModuleType:
    top = name.split(".")[0]
    with _IMPORT_LOCK:
        saved_path = list(sys.path)
        before = set(sys.modules)
        shadowed = {m: sys.modules.pop(m) for m in list(sys.modules)
                    if m == top or m.startswith(top + ".")}
        sys.path[:0] = [str(r) for r in roots]
        importlib.invalidate_caches()
        try:
            module = importlib.import_module(name)
            where = getattr(module, "__file__", None)
            if where is None or not _inside(Path(where), roots):
                raise EntryPointError(f"module '{name}' resolves outside the version's files "
                                      f"({where or 'built in'})", entry_point=name)
            return module
        except ModelkeepError:
            raise
        except BaseException as exc:  # SyntaxError, ImportError, SystemExit from module code
            raise failure(exc, f"importing '{name}' failed") from exc
        finally:
            sys.path[:] = saved_path
            for added in set(sys.modules) - before:
                file = getattr(sys.modules[added], "__file__", None)
                if added in shadowed or (file and _inside(Path(file), roots)):
                    sys.modules.pop(added, None)
            sys.modules.update(shadowed)
