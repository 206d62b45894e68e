"""The object-store side of gc: expanding roots of any kind, and sweeping only old garbage."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from modelkeep.errors import CorruptObjectError
from modelkeep.storage.gc import expand, sweep
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.transfer import waves
from modelkeep.storage.tree import add_path


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return ObjectStore(tmp_path / "k" / "objects", tmp_path / "k" / "tmp")


def make(tmp_path: Path, name: str, big: bool = False) -> Path:
    root = tmp_path / name
    root.mkdir()
    (root / "a.txt").write_text(f"alpha {name}")
    if big:
        (root / "w.bin").write_bytes(os.urandom(5 << 20))
    return root


def age(store: ObjectStore, seconds: float) -> None:
    """Make every object look ``seconds`` old."""
    then = time.time() - seconds
    for oid in store.iter_ids():
        os.utime(store.object_path(oid), (then, then))


def test_expand_follows_trees_manifests_and_plain_objects(store: ObjectStore, tmp_path: Path) -> None:
    tree = add_path(store, make(tmp_path, "m", big=True)).tree_id
    every = {oid for wave in waves(store, [tree]) for oid in wave}
    assert expand(store, [tree]) == (every, [])
    # an id of unknown kind (as tracking tables hold): a tree, a manifest or a blob
    manifest = next(iter(waves(store, [tree])[1]))
    blob = store.put_bytes(b"a code diff")
    needed, missing = expand(store, [], [tree, blob, "0" * 64, "not an id"])
    assert needed == every | {blob} and missing == []
    needed, _ = expand(store, [], [manifest])
    assert manifest in needed and len(needed) > 2


def test_expand_reports_missing_roots_and_stops_on_corrupt_ones(store: ObjectStore, tmp_path: Path) -> None:
    tree = add_path(store, make(tmp_path, "m")).tree_id
    absent = "ab" * 32
    needed, missing = expand(store, [tree, absent])
    assert missing == [absent] and tree in needed
    path = store.object_path(tree)
    os.chmod(path, 0o644)
    path.write_bytes(path.read_bytes().replace(b"a.txt", b"b.txt"))
    with pytest.raises(CorruptObjectError):
        expand(store, [tree])


def test_sweep_deletes_only_old_unreachable_objects(store: ObjectStore, tmp_path: Path) -> None:
    keep = add_path(store, make(tmp_path, "keep")).tree_id
    drop = add_path(store, make(tmp_path, "drop", big=True)).tree_id
    needed, _ = expand(store, [keep])
    doomed = {oid for wave in waves(store, [drop]) for oid in wave} - needed
    young = sweep(store, needed, grace=3600)
    assert young.deleted == [] and young.young == len(doomed)
    age(store, 7200)
    (store.tmp_dir / "stale.obj").write_bytes(b"left by a crash")
    os.utime(store.tmp_dir / "stale.obj", (time.time() - 7200,) * 2)
    dry = sweep(store, needed, grace=3600, dry_run=True)
    assert set(dry.deleted) == doomed and dry.bytes > 5 << 20
    assert set(store.iter_ids()) == needed | doomed  # a dry run changes nothing
    seen: list[tuple[int, int]] = []
    done = sweep(store, needed, grace=3600, progress=lambda d, t: seen.append((d, t)))
    assert set(done.deleted) == doomed and done.reachable == len(needed)
    assert set(store.iter_ids()) == needed and seen[-1] == (len(doomed), len(doomed))
    assert done.tmp_removed == 1
    assert sweep(store, needed, grace=0).deleted == []  # idempotent
    assert all(store.verify(oid) for oid in needed)


def test_sweep_waits_for_a_writer_that_reuses_an_object(tmp_path: Path) -> None:
    """A writer holds the store lock from reusing (freshening) an old object until it
    publishes; a sweep started meanwhile waits, then sees the object fresh and keeps it."""
    import subprocess
    import sys
    import textwrap
    import time

    from modelkeep.storage.objects import ObjectStore

    store = ObjectStore(tmp_path / "objects", tmp_path / "tmp")
    old = store.put_bytes(b"shared weights")
    two_hours_ago = time.time() - 7200
    os.utime(store.object_path(old), (two_hours_ago, two_hours_ago))
    batch = store.batch()
    assert batch.reuse(old)  # the writer's lock is now held
    sweeper = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        from pathlib import Path
        from modelkeep.storage.gc import sweep
        from modelkeep.storage.objects import ObjectStore
        store = ObjectStore(Path({str(tmp_path / "objects")!r}), Path({str(tmp_path / "tmp")!r}))
        print("ready", flush=True)
        print(len(sweep(store, set(), grace=3600).deleted))
    """)], stdout=subprocess.PIPE, text=True)
    assert sweeper.stdout is not None
    # only once the child is about to sweep does its waiting prove anything: a slow start
    # under load must not pass for a sweep blocked by the lock
    assert sweeper.stdout.readline().strip() == "ready"
    time.sleep(2)  # without the lock this sweep of one object ends in milliseconds
    assert sweeper.poll() is None  # blocked behind the writer
    assert store.has(old)
    batch.commit()
    out, _ = sweeper.communicate(timeout=30)
    assert out.strip() == "0" and store.has(old)
