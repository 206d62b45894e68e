"""The ``pickle`` loader, for models the keep's config trusts by name.

Unpickling runs whatever code the file names, so ``load_version`` refuses a pickle before a
byte is read unless the model is listed in ``[loaders] trusted_pickles``; this module is only
reached for trusted models. The unpickled object answers with ``predict`` (rows as a numpy
array when numpy is installed) or by being called.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from typing import Any

from modelkeep.registry.loaders.base import Loaded, failure
from modelkeep.registry.loaders.python_entry import callable_of
from modelkeep.registry.loaders.workspace import Workspace


def load(ref: str, workspace: Workspace, spec: Mapping[str, Any],
         signature: Mapping[str, Any]) -> Loaded:
    """Unpickle the version's (trusted, verified) file."""
    path = workspace.artifacts / str(spec["file"])
    try:
        with open(path, "rb") as f:
            obj = pickle.load(f)  # noqa: S301  (trusted by name in the keep's config)
    except Exception as exc:
        raise failure(exc, f"{ref}: unpickling {spec['file']} failed") from exc
    answer = callable_of(obj, ref)
    if hasattr(obj, "predict"):
        try:
            import numpy as np
        except ImportError:
            return Loaded(ref, "pickle", answer, signature=signature, folder=workspace.folder)

        def rows(data: Any) -> Any:
            return answer(np.asarray(data))

        return Loaded(ref, "pickle", rows, signature=signature, folder=workspace.folder)
    return Loaded(ref, "pickle", answer, signature=signature, folder=workspace.folder)
