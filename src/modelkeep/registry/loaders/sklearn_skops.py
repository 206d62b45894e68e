"""The ``skops`` loader (scikit-learn) and what a fitted estimator says about its signature.

skops loads only types it trusts; modelkeep adds the types scikit-learn and numpy define
themselves (a decision tree's ``sklearn.tree._tree.Tree`` is one skops leaves to the user). A
file holding any other type (a class of the user's, a function) is refused naming them, never
loaded. The signature comes from the
estimator: ``feature_names_in_`` gives one input per named feature (each a column), else one
input ``X`` of ``n_features_in_`` columns; a classifier's output is ``label`` (the dtype of
``classes_``), a regressor's ``prediction``. Inputs: rows (``[[5.1, 3.5], ...]``), records
(``[{"a": 5.1, "b": 3.5}]``) or columns (``{"a": [...], "b": [...]}``) when features are named.
The fingerprint is the estimator's structure (its class and its steps' classes): a refit or new
hyperparameters keep it, another estimator or an added pipeline step changes it.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelkeep.errors import UntrustedPickleError
from modelkeep.registry.loaders.base import Loaded, failure, require
from modelkeep.registry.loaders.workspace import Workspace

# types from these libraries' own modules are trusted (their code is the installed library's)
LIBRARY_TYPES = ("sklearn.", "numpy.", "scipy.")


def read_estimator(path: Path, ref: str) -> Any:
    """The estimator in skops file ``path``, refusing types skops does not trust."""
    sio = require("skops.io", "sklearn", "skops")
    try:
        untrusted = sio.get_untrusted_types(file=str(path))
    except Exception as exc:
        raise failure(exc, f"{ref}: reading skops file {path.name} failed") from exc
    foreign = sorted(t for t in untrusted if not t.startswith(LIBRARY_TYPES))
    if foreign:
        raise UntrustedPickleError(
            f"{ref}: the skops file {path.name} holds types skops does not trust: "
            f"{', '.join(foreign)}; it was not loaded",
            hint="save the model with scikit-learn and numpy types only, or export it to ONNX",
            types=foreign)
    try:
        return sio.load(str(path), trusted=sorted(untrusted))
    except Exception as exc:
        raise failure(exc, f"{ref}: loading skops file {path.name} failed") from exc


def _dtype_name(dtype: Any) -> str:
    return "string" if dtype.kind in "OSU" else str(dtype)


def estimator_signature(est: Any) -> dict[str, Any] | None:
    """The estimator's signature, or None when it records neither features nor outputs."""
    names = getattr(est, "feature_names_in_", None)
    count = getattr(est, "n_features_in_", None)
    if names is not None:
        inputs = [{"name": str(n), "dtype": "float64", "shape": [-1]} for n in names]
    elif count is not None:
        inputs = [{"name": "X", "dtype": "float64", "shape": [-1, int(count)]}]
    else:
        return None
    classes = getattr(est, "classes_", None)
    if classes is not None and hasattr(classes, "dtype"):
        outputs = [{"name": "label", "dtype": _dtype_name(classes.dtype), "shape": [-1]}]
    else:
        width = int(getattr(est, "n_outputs_", 1) or 1)
        outputs = [{"name": "prediction", "dtype": "float64",
                    "shape": [-1] if width == 1 else [-1, width]}]
    return {"inputs": inputs, "outputs": outputs}


def estimator_structure(est: Any) -> str:
    """The estimator's classes, nested (pipeline steps, ensembles' sub-estimators), as text."""

    def walk(obj: Any) -> Any:
        kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
        params = obj.get_params(deep=False) if hasattr(obj, "get_params") else {}
        parts = {}
        for key, value in sorted(params.items()):
            if hasattr(value, "get_params"):
                parts[key] = walk(value)
            elif isinstance(value, list | tuple) and value and all(
                    isinstance(v, tuple) and len(v) >= 2 for v in value):
                parts[key] = [[str(v[0]), walk(v[1]) if hasattr(v[1], "get_params") else str(v[1])]
                              for v in value]
        return [kind, parts]

    return json.dumps(walk(est), sort_keys=True)


def _adapter(names: list[str] | None) -> Any:
    """Rows or records -> columns keyed by feature name (when the features are named)."""

    def adapt(data: Any) -> Any:
        if names is None or isinstance(data, Mapping):
            return data
        if isinstance(data, list) and data and all(isinstance(r, Mapping) for r in data):
            keys = {k for r in data for k in r}
            # a key some record lacks is left out: the signature check names it missing
            return {k: [r[k] for r in data] for k in sorted(keys) if all(k in r for r in data)}
        if isinstance(data, list) and data and all(isinstance(r, list) for r in data):
            if any(len(r) != len(names) for r in data):
                return data  # the signature check names the mismatch
            return {n: [r[i] for r in data] for i, n in enumerate(names)}
        return data

    return adapt


def load(ref: str, workspace: Workspace, spec: Mapping[str, Any],
         signature: Mapping[str, Any]) -> Loaded:
    """The estimator from the version's skops file, answering with ``predict``."""
    np = require("numpy", "sklearn", "skops")
    est = read_estimator(workspace.artifacts / str(spec["file"]), ref)
    inferred = estimator_signature(est) or {}
    if not signature.get("inputs"):
        signature = inferred
    names = [str(n) for n in est.feature_names_in_] if hasattr(est, "feature_names_in_") else None
    output = (inferred.get("outputs") or [{"name": "prediction"}])[0]["name"]

    def call(data: Any) -> Any:
        if names is not None and isinstance(data, Mapping):
            rows = np.column_stack([np.asarray(data[n]) for n in names])
        else:
            rows = np.asarray(data.get("X") if isinstance(data, Mapping) else data)
        with warnings.catch_warnings():  # fitted with a DataFrame, called with an array
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            return {output: est.predict(rows)}

    return Loaded(ref, "skops", call, signature=signature, folder=workspace.folder,
                  adapt=_adapter(names))
