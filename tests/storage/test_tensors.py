from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from modelkeep.errors import InvalidInputError, ObjectNotFoundError, PathNotFoundError
from modelkeep.storage.checkout import checkout
from modelkeep.storage.hashing import hash_bytes
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.tensors import chunks_for_ranges, read_range, spans
from modelkeep.storage.tree import add_path


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return ObjectStore(tmp_path / "k" / "objects", tmp_path / "k" / "tmp")


def tensors(n: int = 8, side: int = 400) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out = {f"layers.{i}.weight": rng.standard_normal((side, side), dtype=np.float32) for i in range(n)}
    out["embed.bias"] = np.arange(7, dtype=np.int64)
    out["scalar"] = np.array(3.5, dtype=np.float16)
    return out


@pytest.fixture
def model(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    src = tmp_path / "src"
    src.mkdir()
    ts = tensors()
    save_file(ts, str(src / "model.safetensors"), metadata={"format": "pt"})
    (src / "config.json").write_text("{}")
    return src, ts


def test_restores_only_matching_tensors_as_valid_file(store: ObjectStore, model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src, ts = model
    tree = add_path(store, src).tree_id
    out = tmp_path / "out"
    stats = checkout(store, tree, out, tensor_patterns=["layers.1.*", "embed.*"])
    got = load_file(str(out / "model.safetensors"))
    assert sorted(got) == ["embed.bias", "layers.1.weight"]
    assert all(np.array_equal(got[k], ts[k]) for k in got)
    assert (out / "config.json").read_text() == "{}"  # other files restored whole
    assert stats.files_written == 2
    from safetensors import safe_open

    with safe_open(str(out / "model.safetensors"), "np") as f:
        assert f.metadata() == {"format": "pt"}


def test_reads_only_the_needed_chunks(store: ObjectStore, model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src, ts = model
    tree = add_path(store, src).tree_id
    keep = hash_bytes(ts["layers.0.weight"].tobytes())
    others = {hash_bytes(v.tobytes()) for k, v in ts.items() if k.startswith("layers.")} - {keep}
    for oid in others:  # chunks a full restore needs, and this partial one must not read
        store.delete(oid)
    checkout(store, tree, tmp_path / "part", tensor_patterns=["layers.0.weight"], verify=True)
    got = load_file(str(tmp_path / "part" / "model.safetensors"))
    assert list(got) == ["layers.0.weight"] and np.array_equal(got["layers.0.weight"], ts["layers.0.weight"])
    with pytest.raises(ObjectNotFoundError):
        checkout(store, tree, tmp_path / "full")


def test_all_tensors_matching_restores_the_original_bytes(store: ObjectStore, model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src, _ = model
    tree = add_path(store, src).tree_id
    checkout(store, tree, tmp_path / "out", tensor_patterns=["*"])
    assert (tmp_path / "out" / "model.safetensors").read_bytes() == (src / "model.safetensors").read_bytes()


def test_small_safetensors_blob_and_no_match(store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    save_file({"a": np.ones(4, np.float32), "b": np.zeros(2, np.uint8)}, str(src / "tiny.safetensors"))
    save_file({"c": np.ones(3, np.float32)}, str(src / "other.safetensors"))
    tree = add_path(store, src).tree_id
    checkout(store, tree, tmp_path / "out", tensor_patterns=["b"])
    assert list(load_file(str(tmp_path / "out" / "tiny.safetensors"))) == ["b"]
    assert not (tmp_path / "out" / "other.safetensors").exists()  # no tensor matched there
    with pytest.raises(PathNotFoundError):
        checkout(store, tree, tmp_path / "o2", tensor_patterns=["b", "nothing.*"])


def test_malformed_stored_safetensors(store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "bad.safetensors").write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{nope")
    tree = add_path(store, src).tree_id
    with pytest.raises(InvalidInputError):
        checkout(store, tree, tmp_path / "out", tensor_patterns=["*"])


def test_spans_and_ranges() -> None:
    chunks = [("a", 10), ("b", 5), ("c", 10)]
    assert list(spans(chunks, 8, 17)) == [("a", 8, 2), ("b", 0, 5), ("c", 0, 2)]
    assert list(spans(chunks, 10, 15)) == [("b", 0, 5)]
    assert chunks_for_ranges(chunks, [(0, 1), (24, 25)]) == {"a", "c"}


def test_read_range(store: ObjectStore) -> None:
    a, b = store.put_bytes(b"hello "), store.put_bytes(b"world")
    assert read_range(store, [(a, 6), (b, 5)], 3, 9) == b"lo wor"
