"""A version's example inputs: the JSON file its loader spec names in the artifacts.

A ``.json`` file holds one input (the document ``predict --input`` takes); a ``.jsonl`` file
holds one input a line. Validation gates measure latency on them, and signature inference runs
the loader on the first. The file is read through a verified checkout of that file alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelkeep.errors import InvalidMetadataError
from modelkeep.registry.loaders.inputs import parse_input_text
from modelkeep.registry.loaders.workspace import loader_of, safe_relative, unrecorded
from modelkeep.registry.versions import VersionInfo
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.tree import read_tree


def read_examples(store: ObjectStore, tree_id: str, path: str) -> list[Any]:
    """The inputs in example file ``path`` of tree ``tree_id`` (verified as it is read)."""
    relative = safe_relative(path, "example input")
    if relative not in {e.path for e in read_tree(store, tree_id)}:
        raise InvalidMetadataError(f"the example input '{path}' is not in the version's artifacts",
                                   hint="name a JSON file the version holds (technical.loader."
                                        "example_input)", path=path)
    import shutil  # here: shutil and tempfile pull bz2, lzma and random into start-up
    import tempfile

    from modelkeep.storage.checkout import checkout

    folder = Path(tempfile.mkdtemp(prefix="modelkeep-example-"))
    try:
        checkout(store, tree_id, folder, link="auto", verify=True, stat_cache=unrecorded(),
                 patterns=[relative])
        text = (folder / relative).read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if relative.endswith(".jsonl"):
        lines = [line for line in text.splitlines() if line.strip()]
        return [parse_input_text(line, f"example input {path} line {n}")
                for n, line in enumerate(lines, 1)]
    return [parse_input_text(text, f"example input {path}")]


def example_inputs(keep_or_store: Any, info: VersionInfo, metadata: Any) -> list[Any]:
    """The example inputs version ``info`` declares (``technical.loader.example_input``);
    ``[]`` when it declares none. ``keep_or_store``: a ``Keep`` or its ``ObjectStore``."""
    from modelkeep.registry.loaders import snapshot_dict

    store = getattr(keep_or_store, "store", keep_or_store)
    path = loader_of(snapshot_dict(metadata)).get("example_input")
    if not path:
        return []
    return read_examples(store, info.tree_id, path)
