"""The index of a sharded safetensors checkpoint (``model.safetensors.index.json``), limited to
what a partial checkout wrote.

Hugging Face loaders read ``weight_map`` (tensor name -> shard file, relative to the index) and
open every shard it names. A checkout of some files or some tensors must therefore write an
index naming exactly the shards written and, in each, exactly the tensors written; otherwise
``from_pretrained`` fails on a shard that is not there or a tensor that is not in it.
"""

from __future__ import annotations

import json
import posixpath
import struct
from dataclasses import dataclass
from typing import Any

from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.tensors import Chunks, TensorSelection, read_range

INDEX_SUFFIX = ".safetensors.index.json"
MAX_INDEX_BYTES = 64 << 20  # a larger "index" is left as it is


@dataclass(frozen=True)
class WrittenShard:
    """A safetensors file a checkout writes: its tensors (None: all of them) and data bytes."""

    tensors: frozenset[str] | None
    data_bytes: int


def is_shard_index(path: str, size: int) -> bool:
    """True for a file named like a sharded checkpoint's index and small enough to rewrite."""
    return path.endswith(INDEX_SUFFIX) and size <= MAX_INDEX_BYTES


def written_shard(
    store: ObjectStore, chunks: Chunks, size: int, selection: TensorSelection | None
) -> WrittenShard:
    """What a checkout writes of one safetensors file: the selection, or the whole file."""
    if selection is not None:
        return WrittenShard(frozenset(selection.names), sum(e - s for s, e in selection.ranges))
    prefix = read_range(store, chunks, 0, min(8, size))
    header = struct.unpack("<Q", prefix)[0] if len(prefix) == 8 else 0
    return WrittenShard(None, max(0, size - 8 - header))


def limit_index(raw: bytes, index_path: str, shards: dict[str, WrittenShard]) -> bytes | None:
    """The index ``raw`` (at tree path ``index_path``) naming only the tensors of ``shards``
    (tree path -> what is written), with ``metadata.total_size`` recounted; None when it
    already names exactly those, or is not an index this understands (left as it is)."""
    try:
        doc: Any = json.loads(raw)
    except ValueError:
        return None
    weight_map = doc.get("weight_map") if isinstance(doc, dict) else None
    if not isinstance(weight_map, dict):
        return None
    folder = posixpath.dirname(index_path)
    kept: dict[str, str] = {}
    for tensor, shard in weight_map.items():
        written = shards.get(posixpath.join(folder, shard)) if isinstance(shard, str) else None
        if written is not None and (written.tensors is None or tensor in written.tensors):
            kept[tensor] = shard
    if kept == weight_map:
        return None
    metadata = doc.get("metadata")
    doc["metadata"] = {**(metadata if isinstance(metadata, dict) else {}),
                       "total_size": sum(shards[posixpath.join(folder, s)].data_bytes
                                         for s in set(kept.values()))}
    doc["weight_map"] = kept
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()  # as transformers writes it
