"""The sharded checkpoint index limited to what a partial checkout wrote, on crafted indexes."""

from __future__ import annotations

import json

from modelkeep.storage.shard_index import WrittenShard, is_shard_index, limit_index

SHARDS = {"m/a.safetensors": WrittenShard(frozenset({"x", "y"}), 24),
          "m/b.safetensors": WrittenShard(None, 100)}


def test_only_written_tensors_of_written_shards_stay() -> None:
    raw = json.dumps({"metadata": {"total_size": 999, "format": "pt"}, "weight_map": {
        "x": "a.safetensors", "z": "a.safetensors", "w": "b.safetensors", "v": "c.safetensors",
        "up": "../m/a.safetensors", "odd": 5}}).encode()
    doc = json.loads(limit_index(raw, "m/model.safetensors.index.json", SHARDS) or b"")
    assert doc == {"metadata": {"total_size": 124, "format": "pt"},
                   "weight_map": {"x": "a.safetensors", "w": "b.safetensors"}}


def test_an_index_that_names_exactly_what_was_written_or_is_not_an_index_is_left_alone() -> None:
    exact = json.dumps({"weight_map": {"x": "a.safetensors", "w": "b.safetensors"}}).encode()
    for raw in [exact, b"not json", b"[1, 2]", b'{"weight_map": []}', b'"\\ud800"', b"{}"]:
        assert limit_index(raw, "m/model.safetensors.index.json", SHARDS) is None
    assert is_shard_index("model.safetensors.index.json", 10)
    assert not is_shard_index("model.safetensors.index.json", 1 << 30)
    assert not is_shard_index("index.json", 10)
