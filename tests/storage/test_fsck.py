import os
from pathlib import Path

from modelkeep.storage.fsck import fsck_objects
from modelkeep.storage.hashing import hash_bytes
from modelkeep.storage.objects import ObjectStore


def test_fsck_reports_corrupt_and_missing(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "objects", tmp_path / "tmp")
    ids = [store.put_bytes(bytes([i]) * 100) for i in range(5)]
    report = fsck_objects(store)
    assert (report.checked, report.corrupt, report.ok) == (5, [], True)
    bad = store.object_path(ids[2])
    os.chmod(bad, 0o644)
    bad.write_bytes(b"rot")
    seen: list[tuple[int, int]] = []
    report = fsck_objects(store, progress=lambda d, t: seen.append((d, t)))
    assert report.corrupt == [ids[2]] and not report.ok and seen[-1] == (5, 5)
    gone = hash_bytes(b"gone")
    report = fsck_objects(store, oids=[ids[0], gone])
    assert (report.checked, report.missing, report.corrupt) == (1, [gone], [])


def test_fsck_quarantines_what_it_finds_corrupt(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "objects", tmp_path / "tmp")
    oid = store.put_bytes(b"payload" * 100)
    bad = store.object_path(oid)
    os.chmod(bad, 0o644)
    bad.write_bytes(b"rot")
    assert fsck_objects(store).corrupt == [oid]
    assert not store.has(oid) and len(list(store.quarantine_dir.iterdir())) == 1
    assert fsck_objects(store).ok  # nothing corrupt is left in the store


def test_fsck_checks_manifests_against_their_chunks_and_trees_against_their_objects(
        tmp_path: Path) -> None:
    from modelkeep.storage.manifest import FileManifest, read_manifest
    from modelkeep.storage.tree import TreeEntry, add_path, read_tree, write_tree

    store = ObjectStore(tmp_path / "objects", tmp_path / "tmp")
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "w.bin").write_bytes(os.urandom(5 << 20))
        (tmp_path / name / "c.txt").write_bytes(os.urandom(3000))
    a = {e.path: e for e in read_tree(store, add_path(store, tmp_path / "a").tree_id)}
    b = {e.path: e for e in read_tree(store, add_path(store, tmp_path / "b").tree_id)}
    assert fsck_objects(store).ok
    w = a["w.bin"]
    chunks = read_manifest(store, b["w.bin"].oid).chunks
    liar = store.put_bytes(FileManifest(w.file_id, w.size, chunks).encode())
    c = a["c.txt"]
    short = write_tree(store, [TreeEntry("c.txt", c.oid, c.size - 1, 0o644, "blob")])
    report = fsck_objects(store)
    assert report.inconsistent == sorted([liar, short]) and report.corrupt == [] and not report.ok
    assert store.has(liar) and store.has(short)  # a lie is reported, not quarantined
