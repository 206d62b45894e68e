import os
import stat
import time
from pathlib import Path

import pytest
from blake3 import blake3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelkeep.errors import CorruptObjectError, InvalidInputError, ObjectNotFoundError
from modelkeep.storage.hashing import hash_bytes
from modelkeep.storage.objects import ObjectStore


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return ObjectStore(tmp_path / "objects", tmp_path / "tmp")


def corrupt(store: ObjectStore, oid: str, data: bytes) -> None:
    p = store.object_path(oid)
    os.chmod(p, 0o644)
    p.write_bytes(data)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=30)
@given(data=st.binary(max_size=4096))
def test_put_get_roundtrip(store: ObjectStore, data: bytes) -> None:
    oid = store.put_bytes(data)
    assert oid == blake3(data).hexdigest()
    assert store.has(oid) and store.get_bytes(oid) == data and store.verify(oid)


def test_layout_is_fanout_and_read_only(store: ObjectStore) -> None:
    oid = store.put_bytes(b"model weights")
    path = store.object_path(oid)
    assert path == store.root / oid[:2] / oid[2:]
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert list(store.tmp_dir.iterdir()) == []


def test_put_is_idempotent_and_does_not_rewrite(store: ObjectStore) -> None:
    oid = store.put_bytes(b"same")
    ino = store.object_path(oid).stat().st_ino
    assert store.put_bytes(b"same") == oid
    assert store.object_path(oid).stat().st_ino == ino
    assert sorted(store.iter_ids()) == [oid]


def test_put_file_streams_and_matches_put_bytes(store: ObjectStore, tmp_path: Path) -> None:
    data = os.urandom((8 << 20) + 17)
    f = tmp_path / "w.bin"
    f.write_bytes(data)
    seen: list[int] = []
    oid = store.put_file(f, progress=lambda d, t: seen.append(d))
    assert oid == blake3(data).hexdigest() and seen[-1] == len(data)
    assert store.get_bytes(oid) == data and store.size(oid) == len(data)
    assert list(store.tmp_dir.iterdir()) == []


def test_expected_id_is_checked_not_trusted(store: ObjectStore, tmp_path: Path) -> None:
    wrong = blake3(b"other").hexdigest()
    with pytest.raises(CorruptObjectError):
        store.put_bytes(b"data", expected=wrong)
    f = tmp_path / "f"
    f.write_bytes(b"data")
    with pytest.raises(CorruptObjectError):
        store.put_file(f, expected=wrong)
    assert not store.has(wrong) and list(store.iter_ids()) == []
    assert list(store.tmp_dir.iterdir()) == []


def test_corruption_is_detected_on_read(store: ObjectStore) -> None:
    oid = store.put_bytes(b"original")
    corrupt(store, oid, b"tampered")
    assert not store.verify(oid)
    assert not store.has(oid)  # quarantined by the read that found it
    for read in (store.get_bytes, lambda o: list(store.iter_blocks(o))):
        store.put_bytes(b"original")
        corrupt(store, oid, b"tampered")
        with pytest.raises(CorruptObjectError) as err:
            read(oid)
        assert err.value.fields["oid"] == oid and "quarantine" in str(err.value)
        assert not store.has(oid)
    assert len(list(store.quarantine_dir.iterdir())) == 3


def test_missing_object(store: ObjectStore) -> None:
    oid = blake3(b"never stored").hexdigest()
    assert not store.has(oid)
    for call in (store.get_bytes, store.verify, store.size):
        with pytest.raises(ObjectNotFoundError):
            call(oid)
    assert store.delete(oid) == 0


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ab", "Z" * 64, ""])
def test_malformed_ids_never_touch_the_filesystem(store: ObjectStore, bad: str) -> None:
    with pytest.raises(InvalidInputError):
        store.object_path(bad)
    with pytest.raises(InvalidInputError):
        store.get_bytes(bad)


def test_delete_returns_bytes_freed(store: ObjectStore, tmp_path: Path) -> None:
    oid = store.put_bytes(b"x" * 1000)
    other = store.put_bytes(b"y" * 10)
    os.link(store.object_path(other), tmp_path / "linked")
    assert store.delete(oid) == 1000 and not store.has(oid)
    assert store.delete(other) == 0  # still hard-linked into a workspace: nothing freed


def test_iter_ids_ignores_foreign_files(store: ObjectStore) -> None:
    oid = store.put_bytes(b"a")
    (store.root / "README").write_text("x")
    (store.root / oid[:2] / "junk").write_text("x")
    assert list(store.iter_ids()) == [oid]


def test_batch_publishes_nothing_on_error(store: ObjectStore) -> None:
    with pytest.raises(RuntimeError), store.batch() as b:
        oid = b.put_bytes(b"staged")
        assert b.has(oid) and not store.has(oid)
        raise RuntimeError("boom")
    assert not store.has(oid) and list(store.tmp_dir.iterdir()) == []


def test_large_batch_uses_one_flush_and_publishes_all(store: ObjectStore) -> None:
    with store.batch() as b:
        ids = {b.put_bytes(str(i).encode()) for i in range(50)}
        b.put_bytes(b"0")  # duplicate inside the batch
    assert set(store.iter_ids()) == ids
    assert list(store.tmp_dir.iterdir()) == []


def test_clean_tmp_removes_stale_staging(store: ObjectStore) -> None:
    stale = store.tmp_dir / "crashed.obj"
    stale.write_bytes(b"partial")
    os.utime(stale, (1, 1))
    fresh = store.tmp_dir / "writing.obj"
    fresh.write_bytes(b"in progress")
    assert store.clean_tmp() == 1
    assert not stale.exists() and fresh.exists()


def test_has_many_lists_or_probes(store: ObjectStore) -> None:
    ids = [store.put_bytes(bytes([i])) for i in range(40)]
    missing = blake3(b"missing").hexdigest()
    assert store.has_many([*ids, missing]) == set(ids)
    assert store.has_many([ids[0]]) == {ids[0]}
    assert store.has_many([]) == set()
    with pytest.raises(InvalidInputError):
        store.has_many(["../x"])


def test_default_stat_cache(tmp_path: Path) -> None:
    plain = ObjectStore(tmp_path / "o", tmp_path / "t")
    assert plain.stat_cache is None
    keep = ObjectStore(tmp_path / "o", tmp_path / "t", stat_cache_path=tmp_path / "sc.json")
    assert keep.stat_cache is keep.stat_cache is not None


def test_reused_objects_are_freshened_so_gc_grace_protects_them(store: ObjectStore, tmp_path: Path) -> None:
    from modelkeep.storage.gc import sweep
    from modelkeep.storage.tree import add_path

    big = tmp_path / "src" / "big.bin"
    big.parent.mkdir()
    big.write_bytes(os.urandom(6 << 20))  # chunked: its chunks are reused through the batch
    small = tmp_path / "small.bin"
    small.write_bytes(b"x" * 2000)
    streamed = tmp_path / "streamed.bin"
    streamed.write_bytes(os.urandom(2 << 20))
    ids = {store.put_bytes(b"hello"), store.put_file(small), store.put_file(streamed)}
    tree = add_path(store, big.parent).tree_id
    ids |= set(store.iter_ids()) - {tree}
    for oid in store.iter_ids():
        os.utime(store.object_path(oid), (1, 1))  # long past any grace period
    store.put_bytes(b"hello")
    store.put_file(small)
    store.put_file(streamed)
    assert add_path(store, big.parent).tree_id == tree  # every chunk, manifest and tree reused
    assert all(store.object_path(oid).stat().st_mtime > time.time() - 60 for oid in ids | {tree})
    report = sweep(store, set(), grace=3600)  # nothing is referenced, but everything is young
    assert report.deleted == [] and report.young == len(ids | {tree})
    assert store.freshen(tree) and not store.freshen("0" * 64)


def test_stat_cache_hits_freshen_their_objects(store: ObjectStore, tmp_path: Path) -> None:
    from modelkeep.storage.ingest import known
    from modelkeep.storage.statcache import StatCache
    from modelkeep.storage.tree import add_path
    from modelkeep.storage.walk import scan

    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(b"a" * 100)
    time.sleep(0.06)  # its mtime and ctime are then old enough for the cache entry to be trusted
    cache = StatCache(tmp_path / "cache.json")
    add_path(store, src, stat_cache=cache)
    blob = store.object_path(hash_bytes(b"a" * 100))
    os.utime(blob, (1, 1))
    assert list(known(store, cache, scan(src))) == ["a.txt"]
    assert blob.stat().st_mtime > time.time() - 60
    os.utime(blob, (1, 1))
    add_path(store, src, stat_cache=cache)  # a.txt comes from the cache, not the batch
    assert blob.stat().st_mtime > time.time() - 60
