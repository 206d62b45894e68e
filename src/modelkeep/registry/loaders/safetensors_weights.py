"""The ``safetensors`` loader (weights + a user loader function) and the architecture fingerprint.

The loader reads the version's safetensors file into a dict of numpy arrays and calls the
user's ``module:function`` from the version's code snapshot or artifacts with it (and the
file's path, when the function takes a second argument). The function returns the model: a
callable, or an object with ``predict``.

The fingerprint is read from the headers alone (verified chunks from the store, never the
weights): every tensor's name, dtype and shape across the version's safetensors files. A
retrain changes values only and keeps it; a new, removed or reshaped layer changes it.
"""

from __future__ import annotations

import inspect
import json
import struct
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from modelkeep.errors import InvalidMetadataError
from modelkeep.storage.chunkers import (
    MAX_HEADER,
    MalformedSafetensors,
    is_safetensors,
    parse_safetensors_header,
)
from modelkeep.storage.tree import TreeEntry, read_tree

if TYPE_CHECKING:  # register reads headers only: the loader's modules load with a loader
    from modelkeep.registry.loaders.base import Loaded
    from modelkeep.registry.loaders.workspace import Workspace
    from modelkeep.storage.objects import ObjectStore


def _header(store: ObjectStore, entry: TreeEntry) -> list[tuple[str, str, list[int]]]:
    """The tensors a safetensors file's header lists; MalformedSafetensors if it is none."""
    # imported here: a tree without safetensors files (register's usual case) needs neither
    from modelkeep.storage.tensors import read_range

    if entry.kind == "blob":
        chunks = [(entry.oid, entry.size)]
    else:
        from modelkeep.storage.manifest import read_manifest  # a chunked file only

        chunks = list(read_manifest(store, entry.oid).chunks)
    head = read_range(store, chunks, 0, min(8, entry.size))
    length = struct.unpack("<Q", head)[0] if len(head) == 8 else 0
    end = 8 + min(length, MAX_HEADER, max(entry.size - 8, 0))
    header = parse_safetensors_header(head + read_range(store, chunks, 8, end), entry.size)
    return [(t.name, t.dtype, list(t.shape)) for t in header.tensors]


def tensor_structure(store: ObjectStore, tree_id: str) -> str | None:
    """Every tensor's (name, dtype, shape) across the tree's safetensors files, as canonical
    text; None when the tree holds none, or one whose header is malformed (it was stored
    as a plain file, with a note; loading it is the loader's failure to report)."""
    entries = [e for e in read_tree(store, tree_id) if is_safetensors(e.path)]
    try:
        tensors = sorted(t for e in entries for t in _header(store, e))
    except MalformedSafetensors:
        return None
    return json.dumps(tensors) if entries else None


def load(ref: str, workspace: Workspace, spec: Mapping[str, Any],
         signature: Mapping[str, Any]) -> Loaded:
    """Read the weights, build the model with the user's loader function, wrap it."""
    from modelkeep.registry.loaders.base import Loaded, failure, require

    numpy_io = require("safetensors.numpy", "safetensors", "safetensors")
    target = str(spec.get("entry_point") or "")
    if not target:
        raise InvalidMetadataError(
            f"{ref}: a safetensors loader needs the user loader function (technical.loader."
            "entry_point)", hint="e.g. --loader safetensors:model:build")
    from modelkeep.registry.loaders.entry_points import import_entry_point
    from modelkeep.registry.loaders.python_entry import callable_of

    build = import_entry_point(target, workspace.roots)
    path = workspace.artifacts / str(spec["file"])
    try:
        tensors = numpy_io.load_file(str(path))
    except Exception as exc:
        raise failure(exc, f"{ref}: reading {spec['file']} failed") from exc
    try:
        wants_path = len(inspect.signature(build).parameters) >= 2
    except (TypeError, ValueError):
        wants_path = False
    try:
        model = build(tensors, path) if wants_path else build(tensors)
    except Exception as exc:
        raise failure(exc, f"{ref}: the loader function {target} raised") from exc
    return Loaded(ref, "safetensors", callable_of(model, target), signature=signature,
                  folder=workspace.folder)
