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
