"""Signatures and fingerprints modelkeep fills in itself when a version does not declare them.

Run at register time on the stored (verified) files, in this order of preference:

* signature: an ONNX graph's inputs and outputs; a scikit-learn estimator's features and
  classes or targets; else the loader run on the version's example input (inputs described
  from the example, outputs from what the model returned);
* fingerprint: an ONNX graph's operators and weight shapes; a scikit-learn estimator's
  classes; the tensor names, dtypes and shapes in the safetensors headers (read even when no
  loader is declared: headers only, no framework import).

Each result carries ``source: inferred`` and ``inferred_from``; a declared value is never
replaced. A loader whose signature cannot be inferred (a python entry point without an
example input) is ``SignatureUnknownError`` asking for a declared one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelkeep.errors import SignatureUnknownError
from modelkeep.registry.loaders.workspace import loader_of, model_file, open_workspace
from modelkeep.storage.hashing import hash_bytes
from modelkeep.storage.objects import ObjectStore

EXAMPLE = "example input"


@dataclass(frozen=True)
class Inferred:
    """What inference found: a signature and a fingerprint (each None when not inferred)."""

    signature: dict[str, Any] | None = None
    fingerprint: dict[str, Any] | None = None


def declares_signature(meta: Mapping[str, Any]) -> bool:
    """True when the metadata declares a signature (inputs or outputs, not inferred)."""
    sig = (meta.get("technical") or {}).get("signature") or {}
    return bool(sig.get("inputs") or sig.get("outputs")) and sig.get("source") != "inferred"


def _fingerprint(text: str, source: str) -> dict[str, Any]:
    return {"value": hash_bytes(text.encode()), "source": "inferred", "inferred_from": source}


def _signature(sig: Mapping[str, Any], source: str) -> dict[str, Any]:
    return {**sig, "source": "inferred", "inferred_from": source}


def infer(store: ObjectStore, name: str, tree_id: str, meta: Mapping[str, Any], *,
          need_signature: bool = True) -> Inferred:
    """Infer what ``meta`` (a snapshot dict for files ``tree_id``) does not declare.

    A loader declared with no signature whose signature can be neither read nor inferred is
    SignatureUnknownError. ``need_signature=False`` (a declared one will be inherited)
    infers no signature at all: no example is run.
    """
    spec = loader_of(meta)
    kind = spec.get("kind")
    if kind == "hosted":  # chat messages in, text out: no tensors to describe, no files to read
        return Inferred(signature=None, fingerprint=None)
    declared_fp = ((meta.get("technical") or {}).get("fingerprint") or {}).get("value")
    want_sig = bool(kind) and need_signature and not declares_signature(meta)
    signature = fingerprint = None
    if kind in ("onnx", "skops"):
        if want_sig or not declared_fp:
            signature, fingerprint = _from_model_file(store, name, tree_id, kind, spec.get("file"))
    elif not declared_fp:  # headers only: cheap, and no framework to import
        from modelkeep.registry.loaders.safetensors_weights import tensor_structure

        text = tensor_structure(store, tree_id)
        fingerprint = _fingerprint(text, "safetensors header") if text else None
    if want_sig and signature is None and spec.get("example_input") and kind != "pickle":
        signature = _from_example(store, name, tree_id, meta, str(spec["example_input"]))
    if want_sig and signature is None:
        raise SignatureUnknownError(_unknown_reason(kind, spec), name=name)
    return Inferred(signature=signature if want_sig else None,
                    fingerprint=None if declared_fp else fingerprint)


def _unknown_reason(kind: Any, spec: Mapping[str, Any]) -> str:
    if kind == "pickle":
        why = "modelkeep never unpickles a file to learn its signature"
    elif spec.get("example_input"):
        why = "its example input did not give one"
    else:
        why = f"a {kind} loader says nothing about its inputs and the version names no example input"
    return (f"cannot infer the signature: {why}; declare technical.signature in the metadata "
            "file, or name an example input (--example-input FILE)")


def _from_model_file(store: ObjectStore, name: str, tree_id: str, kind: str,
                     named: str | None) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    path = model_file(store, tree_id, kind, named)
    workspace = open_workspace(store, tree_id, None, patterns=[path])
    try:
        file = workspace.artifacts / path
        if kind == "onnx":
            from modelkeep.registry.loaders.onnx_runtime import graph_facts

            sig, text = graph_facts(file)
            return _signature(sig, "onnx graph"), _fingerprint(text, "onnx graph")
        from modelkeep.registry.loaders.sklearn_skops import (
            estimator_signature,
            estimator_structure,
            read_estimator,
        )

        est = read_estimator(file, f"{name} ({path})")
        found = estimator_signature(est)
        source = "scikit-learn estimator"
        return (_signature(found, source) if found else None,
                _fingerprint(estimator_structure(est), source))
    finally:
        workspace.remove()


def _from_example(store: ObjectStore, name: str, tree_id: str, meta: Mapping[str, Any],
                  path: str) -> dict[str, Any]:
    from modelkeep.registry.loaders import load_tree
    from modelkeep.registry.loaders.examples import read_examples

    example = read_examples(store, tree_id, path)
    if not example:
        raise SignatureUnknownError(f"cannot infer the signature: the example input {path} is "
                                    "empty; declare technical.signature", name=name)
    unchecked = {**meta, "technical": {**(meta.get("technical") or {}), "signature": {}}}
    loaded = load_tree(store, name, f"{name} (being registered)", tree_id, dict(unchecked))
    try:
        outputs = loaded.predict(example[0])
    finally:
        loaded.close()
    return _signature({"inputs": describe(example[0], "input"),
                       "outputs": describe(outputs, "output")}, EXAMPLE)


def describe(value: Any, default_name: str) -> list[dict[str, Any]]:
    """Tensor specs for a JSON value: one per key of an object, else one named ``default_name``;
    the first dimension is the batch (-1)."""
    items = value.items() if isinstance(value, Mapping) else [(default_name, value)]
    return [_spec(str(key), item) for key, item in items]


def _spec(name: str, value: Any) -> dict[str, Any]:
    shape: list[int] = []
    node = value
    while isinstance(node, list) and node:
        shape.append(len(node))
        node = node[0]
    leaves = _leaves(value)
    if isinstance(node, list) or any(isinstance(v, Mapping | list) for v in leaves):
        raise SignatureUnknownError(
            f"cannot infer the signature: '{name}' in the example is not a tensor (nested "
            "objects or empty lists); declare technical.signature")
    if leaves and all(isinstance(v, bool) for v in leaves):
        dtype = "bool"
    elif leaves and all(isinstance(v, int) and not isinstance(v, bool) for v in leaves):
        dtype = "int64"
    elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in leaves):
        dtype = "float64"
    elif all(isinstance(v, str) for v in leaves):
        dtype = "string"
    else:
        raise SignatureUnknownError(f"cannot infer the signature: '{name}' mixes value types "
                                    "in the example; declare technical.signature")
    return {"name": name, "dtype": dtype, "shape": [-1, *shape[1:]] if shape else []}


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def infer_for_registration(db: Any, store: ObjectStore, name: str, tree_id: str, metadata: Any,
                           *, inherit: bool) -> Inferred:
    """``infer`` for a registration of ``name``: a loader not given again is the predecessor's
    (as inheritance will copy it), and a declared signature the predecessor passes on makes
    inference of the signature unnecessary."""
    from modelkeep.registry.inheritance import declared_paths
    from modelkeep.registry.loaders import snapshot_dict

    meta = snapshot_dict(metadata)
    given = declared_paths(metadata) if metadata is not None else frozenset()
    previous = _latest_snapshot(db, name) if inherit else None
    technical = dict(meta.get("technical") or {})
    before = (previous or {}).get("technical") or {}
    if "technical.loader" not in given and before.get("loader"):
        technical["loader"] = before["loader"]
    inherits_signature = ("technical.signature" not in given and previous is not None
                          and declares_signature(previous))
    meta["technical"] = technical
    return infer(store, name, tree_id, meta, need_signature=not inherits_signature)


def _latest_snapshot(db: Any, name: str) -> dict[str, Any] | None:
    from modelkeep.errors import ModelNotFoundError
    from modelkeep.registry.versions import list_versions, version_metadata

    try:
        every = list_versions(db, name)
    except ModelNotFoundError:
        return None
    return version_metadata(db, every[-1].id) if every else None
