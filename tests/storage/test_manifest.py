import json

import pytest

from modelkeep.errors import InvalidInputError
from modelkeep.storage.hashing import hash_bytes
from modelkeep.storage.manifest import FileManifest

A, B = hash_bytes(b"a"), hash_bytes(b"b")


def test_roundtrip_and_canonical() -> None:
    m = FileManifest(hash_bytes(b"ab"), 2, ((A, 1), (B, 1)), "safetensors", "0" * 64)
    raw = m.encode()
    assert FileManifest.decode(raw) == m
    assert raw == json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    assert m.offsets() == [(A, 0, 1), (B, 1, 1)] and m.chunk_ids == [A, B]


@pytest.mark.parametrize(
    "patch",
    [
        {"size": 3},  # chunks do not add up
        {"file": "nope"},
        {"chunks": [["zz", 2]]},
        {"chunks": [[A, -1], [B, 3]]},
        {"format": "modelkeep.tree"},
        {"sha256": "short"},
        {"version": 9},
    ],
)
def test_invalid_manifests(patch: dict) -> None:
    doc = json.loads(FileManifest(hash_bytes(b"ab"), 2, ((A, 1), (B, 1))).encode())
    doc.update(patch)
    with pytest.raises(InvalidInputError):
        FileManifest.decode(json.dumps(doc).encode())
    with pytest.raises(InvalidInputError):
        FileManifest.decode(b"\xff not json")


@pytest.mark.parametrize("crafted", [
    b'{"format": "modelkeep.manifest", "version": 1, "chunks": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"format": "modelkeep.manifest", "version": 1, "size": ' + b"9" * 5000 + b"}",
])
def test_a_crafted_manifest_is_invalid_not_a_crash(crafted: bytes) -> None:
    with pytest.raises(InvalidInputError, match="not a valid file manifest"):
        FileManifest.decode(crafted)
