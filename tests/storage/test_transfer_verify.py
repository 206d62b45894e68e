"""Pull verifies whole files: a remote (a local folder here, as a shared drive would be) that
serves other bytes under a genuine file id is refused, and pull repairs quarantined objects."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelkeep.errors import CorruptObjectError
from modelkeep.storage.fsck import fsck_objects
from modelkeep.storage.manifest import FileManifest, read_manifest
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.remotes import Remote
from modelkeep.storage.transfer import pull_objects, push_objects
from modelkeep.storage.tree import TreeEntry, add_path, read_tree, write_tree

BIG = 6 << 20


def new_store(root: Path) -> ObjectStore:
    return ObjectStore(root / "objects", root / "tmp", workers=2)


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    return Remote("origin", str(tmp_path / "remote"))


def files(root: Path, seed: bytes) -> Path:
    root.mkdir(parents=True)
    (root / "weights.bin").write_bytes(os.urandom(BIG))
    (root / "config.json").write_bytes(b'{"seed": "' + seed + b'"}' + b" " * 300)
    return root


def entries(store: ObjectStore, tree: str) -> dict[str, TreeEntry]:
    return {e.path: e for e in read_tree(store, tree)}


def forge(attacker: ObjectStore, remote: Remote, forged: list[TreeEntry]) -> str:
    """What a hostile remote does: store a forged tree and push its objects."""
    tree = write_tree(attacker, forged)
    push_objects(attacker, remote, [tree])
    return tree


def test_a_manifest_with_a_genuine_file_id_and_other_chunks_is_refused(
        tmp_path: Path, remote: Remote) -> None:
    attacker = new_store(tmp_path / "attacker")
    genuine = entries(attacker, add_path(attacker, files(tmp_path / "genuine", b"g")).tree_id)
    other = entries(attacker, add_path(attacker, files(tmp_path / "other", b"o")).tree_id)
    w = genuine["weights.bin"]
    chunks = read_manifest(attacker, other["weights.bin"].oid).chunks
    liar = attacker.put_bytes(FileManifest(w.file_id, w.size, chunks).encode())
    tree = forge(attacker, remote, [genuine["config.json"],
                                    TreeEntry("weights.bin", liar, w.size, 0o644, "manifest", w.file_id)])
    victim = new_store(tmp_path / "victim")
    with pytest.raises(CorruptObjectError, match="weights.bin"):
        pull_objects(victim, remote, [tree])
    assert not victim.has(liar) and not victim.has(tree)  # nothing of the lie is kept
    assert fsck_objects(victim).ok


def test_a_tree_entry_smaller_than_its_blob_is_refused(tmp_path: Path, remote: Remote) -> None:
    attacker = new_store(tmp_path / "attacker")
    genuine = entries(attacker, add_path(attacker, files(tmp_path / "genuine", b"g")).tree_id)
    c = genuine["config.json"]
    tree = forge(attacker, remote, [TreeEntry("config.json", c.oid, c.size - 200, 0o644, "blob")])
    victim = new_store(tmp_path / "victim")
    with pytest.raises(CorruptObjectError, match="config.json"):
        pull_objects(victim, remote, [tree])
    assert not victim.has(tree)


def test_pull_repairs_an_object_found_corrupt(tmp_path: Path, remote: Remote) -> None:
    a = new_store(tmp_path / "a")
    tree = add_path(a, files(tmp_path / "m", b"m")).tree_id
    push_objects(a, remote, [tree])
    b = new_store(tmp_path / "b")
    pull_objects(b, remote, [tree])
    chunk = read_manifest(b, entries(b, tree)["weights.bin"].oid).chunks[1][0]
    path = b.object_path(chunk)
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.write(b"rot")
    assert fsck_objects(b).corrupt == [chunk]  # found, and moved out of the way
    again = pull_objects(b, remote, [tree])
    assert again.objects == 1 and fsck_objects(b).ok


def test_a_pull_that_reads_a_corrupt_local_chunk_fetches_it_again(tmp_path: Path,
                                                                  remote: Remote) -> None:
    """A new version shares chunks with one already here; one shared chunk rotted unnoticed:
    verifying the new file finds it, quarantines it and fetches it again."""
    a = new_store(tmp_path / "a")
    src = files(tmp_path / "m", b"m")
    v1 = add_path(a, src).tree_id
    with open(src / "weights.bin", "r+b") as f:  # v2: the first bytes change, the rest is shared
        f.write(os.urandom(64))
    v2 = add_path(a, src).tree_id
    push_objects(a, remote, [v1, v2])
    b = new_store(tmp_path / "b")
    pull_objects(b, remote, [v1])
    shared = read_manifest(b, entries(b, v1)["weights.bin"].oid).chunks[-1][0]
    path = b.object_path(shared)
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.write(b"rot")
    pull_objects(b, remote, [v2])
    assert b.verify(shared)


def test_push_of_a_corrupt_large_object_says_corrupt_and_quarantines_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uuid

    from modelkeep.storage import transfer

    monkeypatch.setattr(transfer, "SMALL_OBJECT", 1024)  # every chunk travels as a file
    remote = Remote("origin", f"memory://mk-{uuid.uuid4().hex}")
    a = new_store(tmp_path / "a")
    tree = add_path(a, files(tmp_path / "m", b"m")).tree_id
    chunk = read_manifest(a, entries(a, tree)["weights.bin"].oid).chunks[0][0]
    path = a.object_path(chunk)
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.write(b"rot")
    with pytest.raises(CorruptObjectError, match=chunk):
        push_objects(a, remote, [tree])
    assert not a.has(chunk)
