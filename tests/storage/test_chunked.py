import hashlib
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from blake3 import blake3
from safetensors.numpy import load_file, save_file

from modelkeep.errors import FileChangedError
from modelkeep.storage import chunked
from modelkeep.storage.checkout import checkout
from modelkeep.storage.chunkers import CHUNK_THRESHOLD
from modelkeep.storage.hashing import hash_chunks
from modelkeep.storage.manifest import read_manifest
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.tree import add_path, diff_trees, read_tree


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return ObjectStore(tmp_path / "k" / "objects", tmp_path / "k" / "tmp")


def model(seed: int = 0, n: int = 12, side: int = 512) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {f"layer{i}.w": rng.standard_normal((side, side), dtype=np.float32) for i in range(n)}


def rebuild(store: ObjectStore, oid: str) -> bytes:
    return b"".join(store.get_bytes(c) for c in read_manifest(store, oid).chunk_ids)


def test_large_safetensors_is_chunked_per_tensor(store: ObjectStore, tmp_path: Path) -> None:
    f = tmp_path / "src" / "m.safetensors"
    f.parent.mkdir()
    save_file(model(), str(f))
    data = f.read_bytes()
    assert len(data) >= CHUNK_THRESHOLD
    (e,) = read_tree(store, add_path(store, f.parent).tree_id)
    m = read_manifest(store, e.oid)
    assert e.kind == "manifest" and m.chunker == "safetensors" and len(m.chunks) == 13
    assert e.file_id == m.file_id == blake3(data).hexdigest() and e.size == len(data)
    assert rebuild(store, e.oid) == data and hash_chunks([rebuild(store, e.oid)]) == e.file_id


def test_fine_tune_stores_only_changed_tensors(store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    tensors = model()
    save_file(tensors, str(src / "m.safetensors"))
    add_path(store, src)
    before = set(store.iter_ids())
    tensors["layer3.w"] = tensors["layer3.w"] + 1
    save_file(tensors, str(src / "m.safetensors"))
    add_path(store, src)
    new = set(store.iter_ids()) - before
    sizes = sorted(store.size(o) for o in new)
    assert len(new) == 3  # the changed tensor, the manifest, the tree
    assert sizes[-1] == 512 * 512 * 4


def test_identical_tensors_stored_once_even_if_header_differs(store: ObjectStore, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    tensors = model()
    save_file(tensors, str(a / "m.safetensors"), metadata={"run": "1"})
    save_file(tensors, str(b / "m.safetensors"), metadata={"run": "2"})
    add_path(store, a)
    before = set(store.iter_ids())
    add_path(store, b)
    assert len(set(store.iter_ids()) - before) == 3  # header chunk, manifest, tree


def test_generic_large_file_uses_cdc_and_survives_an_insert(store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    data = np.random.default_rng(1).bytes(12 << 20)
    (src / "model.bin").write_bytes(data)
    add_path(store, src)
    before = set(store.iter_ids())
    (src / "model.bin").write_bytes(data[:5000] + b"inserted" + data[5000:])
    tree = add_path(store, src).tree_id
    new = set(store.iter_ids()) - before
    assert sum(store.size(o) for o in new) < 5 << 20  # most chunks re-found after the shift
    (e,) = read_tree(store, tree)
    assert read_manifest(store, e.oid).chunker == "fastcdc"
    assert rebuild(store, e.oid) == (src / "model.bin").read_bytes()


def test_chunked_and_unchunked_give_the_same_file_id(store: ObjectStore, tmp_path: Path) -> None:
    data = os.urandom(CHUNK_THRESHOLD + 10)
    f = tmp_path / "x.bin"
    f.write_bytes(data)
    (e,) = read_tree(store, add_path(store, f).tree_id)
    assert e.kind == "manifest" and e.file_id == store.put_bytes(data)


def test_cdc_windows_match_one_pass(
    store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = np.random.default_rng(2).bytes(9 << 20)
    f = tmp_path / "x.bin"
    f.write_bytes(data)
    (e1,) = read_tree(store, add_path(store, f).tree_id)
    monkeypatch.setattr(chunked, "FILL", 5 << 20)  # many more window edges
    (e2,) = read_tree(store, add_path(store, f).tree_id)
    assert e1.oid == e2.oid


def test_sha256_recorded_on_request(store: ObjectStore, tmp_path: Path) -> None:
    data = os.urandom(CHUNK_THRESHOLD)
    f = tmp_path / "x.bin"
    f.write_bytes(data)
    (e,) = read_tree(store, add_path(store, f, sha256=True).tree_id)
    assert read_manifest(store, e.oid).sha256 == hashlib.sha256(data).hexdigest()


def test_malformed_safetensors_falls_back_with_note(store: ObjectStore, tmp_path: Path) -> None:
    f = tmp_path / "m.safetensors"
    save_file(model(), str(f))
    data = f.read_bytes()[:-1000]  # truncated
    f.write_bytes(data)
    info = add_path(store, f)
    assert len(info.notes) == 1 and "m.safetensors" in info.notes[0]
    (e,) = read_tree(store, info.tree_id)
    assert rebuild(store, e.oid) == data


def test_checkout_of_chunked_files(store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    tensors = model()
    save_file(tensors, str(src / "m.safetensors"))
    (src / "blob.bin").write_bytes(os.urandom(CHUNK_THRESHOLD * 2))
    tree = add_path(store, src).tree_id
    for link in ("copy", "hardlink", "auto"):
        out = tmp_path / f"out-{link}"
        stats = checkout(store, tree, out, link=link, verify=link == "copy")  # type: ignore[arg-type]
        assert stats.files_written == 2
        assert (out / "blob.bin").read_bytes() == (src / "blob.bin").read_bytes()
        restored = load_file(str(out / "m.safetensors"))
        assert all(np.array_equal(restored[k], v) for k, v in tensors.items())
    assert diff_trees(store, tree, tree).changed == []


def test_file_growing_while_read_is_refused(store: ObjectStore, tmp_path: Path) -> None:
    f = tmp_path / "src" / "x.bin"
    f.parent.mkdir()
    f.write_bytes(os.urandom(CHUNK_THRESHOLD * 3))
    stop = threading.Event()

    def writer() -> None:
        with open(f, "ab") as out:
            while not stop.is_set():
                out.write(b"more")
                out.flush()

    t = threading.Thread(target=writer)
    t.start()
    try:
        with pytest.raises(FileChangedError):
            add_path(store, f.parent)
    finally:
        stop.set()
        t.join()
    assert list(store.iter_ids()) == [] and list(store.tmp_dir.iterdir()) == []


def test_failing_progress_callback_stops_cleanly(store: ObjectStore, tmp_path: Path) -> None:
    f = tmp_path / "x.bin"
    f.write_bytes(os.urandom(CHUNK_THRESHOLD * 20))

    def progress(done: int, total: int) -> None:
        raise KeyboardInterrupt  # e.g. Ctrl-C delivered inside the callback

    with pytest.raises(KeyboardInterrupt):
        add_path(store, f, progress=progress)
    assert list(store.iter_ids()) == [] and list(store.tmp_dir.iterdir()) == []


def test_buffers_without_huge_pages_still_store(store: ObjectStore, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel that refuses the huge-page advice (EINVAL, here from an advice it does not
    know) costs only the advice: the file is stored as usual."""
    monkeypatch.setattr(chunked, "HUGE_PAGES", 0x7FFF)
    f = tmp_path / "src" / "m.safetensors"
    f.parent.mkdir()
    save_file(model(), str(f))
    (e,) = read_tree(store, add_path(store, f.parent).tree_id)
    assert rebuild(store, e.oid) == f.read_bytes()
