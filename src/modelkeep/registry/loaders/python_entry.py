"""The ``python`` loader: an entry point from the version's code snapshot or artifacts.

``module:function`` is called with the JSON inputs and returns the outputs. ``module:Class``
is instantiated once (with the artifacts folder as its one argument when ``__init__`` takes
one, else with none) and its ``predict`` method answers each call.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from modelkeep.errors import EntryPointError
from modelkeep.registry.loaders.base import Loaded, failure
from modelkeep.registry.loaders.entry_points import import_entry_point
from modelkeep.registry.loaders.workspace import Workspace


def callable_of(obj: Any, target: str, *args: Any) -> Callable[[Any], Any]:
    """What answers predict: a function as is, an instance's ``predict`` (a class is built
    with ``args`` when its ``__init__`` takes them)."""
    if inspect.isclass(obj):
        try:
            takes = [p for p in inspect.signature(obj).parameters.values()
                     if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            takes = []
        try:
            obj = obj(*args[:len(takes)])
        except Exception as exc:
            raise failure(exc, f"{target}: building the model failed") from exc
    method = getattr(obj, "predict", None)
    if callable(method):
        return method  # type: ignore[no-any-return]
    if callable(obj) and not inspect.isclass(obj):
        return obj  # type: ignore[no-any-return]
    raise EntryPointError(f"entry point {target} is neither a function nor has a predict method",
                          entry_point=target)


def load(ref: str, workspace: Workspace, spec: Mapping[str, Any],
         signature: Mapping[str, Any]) -> Loaded:
    """Import the entry point from the verified checkout and wrap it."""
    target = str(spec.get("entry_point") or "")
    obj = import_entry_point(target, workspace.roots)
    return Loaded(ref, "python", callable_of(obj, target, workspace.artifacts),
                  signature=signature, folder=workspace.folder)
