"""Loaders: turn a registered version into a model that answers ``predict`` on JSON inputs.

One module per loader kind (``python_entry``, ``onnx_runtime``, ``sklearn_skops``,
``safetensors_weights``, ``pickle_trusted``), each imported only when a version of its kind is
loaded, so frameworks (onnxruntime, skops) load lazily. Every kind loads from a private,
verified checkout (``workspace``). The API here is what the CLI, validation gates and the
gateway use::

    loaded = load_version(store, info, metadata, trusted_pickles=("iris",))
    loaded.predict({"x": [[1.0, 2.0]]})      # JSON-ready in, JSON-ready out
    example_inputs(keep, info, metadata)     # the version's example inputs (maybe [])
"""

from __future__ import annotations

import importlib
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from modelkeep import _lazy
from modelkeep.errors import LoaderMissingError, UntrustedPickleError

if TYPE_CHECKING:
    from modelkeep.registry.loaders.base import Loaded, LoadedModel, Prediction
    from modelkeep.registry.loaders.examples import example_inputs
    from modelkeep.registry.versions import VersionInfo
    from modelkeep.storage.objects import ObjectStore

__all__ = ["Loaded", "LoadedModel", "Prediction", "example_inputs", "load_tree", "load_version",
           "predict_version", "snapshot_dict"]

# re-exported names load on first use (PEP 562): register imports this package (inference,
# snapshot_dict) on every run, and needs neither the loaded-model classes nor examples
_EXPORTS: dict[str, str] = {
    "Loaded": "modelkeep.registry.loaders.base",
    "LoadedModel": "modelkeep.registry.loaders.base",
    "Prediction": "modelkeep.registry.loaders.base",
    "example_inputs": "modelkeep.registry.loaders.examples",
}


def __getattr__(name: str) -> Any:
    return _lazy.load(globals(), _EXPORTS, name)


def __dir__() -> list[str]:
    return _lazy.names(globals(), __all__)

# loader kind -> module with ``load(ref, workspace, spec, signature) -> Loaded``
KIND_MODULES: dict[str, str] = {
    "python": "modelkeep.registry.loaders.python_entry",
    "onnx": "modelkeep.registry.loaders.onnx_runtime",
    "skops": "modelkeep.registry.loaders.sklearn_skops",
    "safetensors": "modelkeep.registry.loaders.safetensors_weights",
    "pickle": "modelkeep.registry.loaders.pickle_trusted",
}


def snapshot_dict(metadata: Any) -> dict[str, Any]:
    """A metadata snapshot as a JSON-ready dict, from a ``ModelMetadata`` or a mapping."""
    if hasattr(metadata, "model_dump"):
        return dict(metadata.model_dump(mode="json"))
    return dict(metadata or {})


def load_version(store: ObjectStore, info: VersionInfo, metadata: Any, *,
                 trusted_pickles: Collection[str] = (),
                 providers: Mapping[str, Mapping[str, Any]] | None = None) -> Loaded:
    """Load version ``info`` through the loader its metadata declares: a ``LoadedModel``
    (``Loaded``, which also has ``close()`` and works as a context manager).

    The version's files are checked out verified into a private folder first; a pickle is
    refused (before a byte is read) unless ``info.name`` is in ``trusted_pickles``.
    """
    return load_tree(store, info.name, info.ref, info.tree_id, snapshot_dict(metadata),
                     trusted_pickles=trusted_pickles, providers=providers)


def predict_version(store: ObjectStore, info: VersionInfo, metadata: Any, inputs: Any, *,
                    trusted_pickles: Collection[str] = (),
                    providers: Mapping[str, Mapping[str, Any]] | None = None) -> Prediction:
    """Load, run once on ``inputs`` and close: the ``predict`` command. ``inputs`` may be the
    bytes of a JSON document (malformed JSON is ``InvalidModelInputError``)."""
    with load_version(store, info, metadata, trusted_pickles=trusted_pickles,
                      providers=providers) as loaded:
        return loaded.prediction(inputs)


def load_tree(store: ObjectStore, name: str, ref: str, tree_id: str, meta: dict[str, Any], *,
              trusted_pickles: Collection[str] = (),
              providers: Mapping[str, Mapping[str, Any]] | None = None) -> Loaded:
    """``load_version`` for an artifacts tree that may not be a version yet (register infers
    a signature by running the loader on the example input)."""
    from modelkeep.registry.loaders.workspace import loader_of, model_file, open_workspace, signature_of

    spec = loader_of(meta)
    kind = spec.get("kind")
    if not kind:
        raise LoaderMissingError(
            f"{ref} declares no loader, so modelkeep does not know how to call it",
            hint=f"register it again with --loader KIND[:TARGET], e.g. modelkeep register "
                 f"{name} PATH --loader onnx", name=name)
    if kind == "pickle" and name not in trusted_pickles:
        raise UntrustedPickleError(
            f"{ref} is a pickle, and unpickling runs whatever code the file holds; the keep "
            f"does not trust model '{name}'",
            hint=f'trust it in .modelkeep/config.toml: [loaders] trusted_pickles = ["{name}"]'
                 " (or export it with skops or ONNX)", name=name)
    if kind == "hosted":  # an upstream endpoint: no checkout, the provider from the config
        from modelkeep.registry.loaders.hosted import load_hosted

        return load_hosted(store, ref, tree_id, providers or {})  # type: ignore[return-value]
    if kind != "python":
        spec["file"] = model_file(store, tree_id, kind, spec.get("file"))
    code_tree = ((meta.get("components") or {}).get("code") or {}).get("snapshot")
    module: Any = importlib.import_module(KIND_MODULES[kind])
    workspace = open_workspace(store, tree_id, code_tree)
    try:
        loaded: Loaded = module.load(ref, workspace, spec, signature_of(meta))
    except BaseException:
        workspace.remove()
        raise
    return loaded
