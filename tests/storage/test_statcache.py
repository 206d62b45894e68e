import os
import time
from pathlib import Path

from modelkeep.storage.statcache import RACY_NS, StatCache, Stored

OID = "a" * 64


def old_file(path: Path, data: bytes = b"x") -> os.stat_result:
    """A file last changed (mtime and ctime) more than RACY_NS ago."""
    path.write_bytes(data)
    time.sleep(RACY_NS / 1e9 + 0.01)
    return path.stat()


def test_hit_after_save_and_reload(tmp_path: Path) -> None:
    f = tmp_path / "f"
    st = old_file(f)
    cache = StatCache(tmp_path / "cache.json")
    cache.record(f, st, OID, oid="b" * 64, kind="manifest")
    assert cache.lookup(f, st) == Stored("b" * 64, "manifest", OID)
    cache.save()
    again = StatCache(tmp_path / "cache.json")
    assert len(again) == 1 and again.lookup(str(f), f.stat()) == Stored("b" * 64, "manifest", OID)


def test_any_stat_change_is_a_miss(tmp_path: Path) -> None:
    f = tmp_path / "f"
    cache = StatCache()
    cache.record(f, old_file(f), OID)
    f.write_bytes(b"y")  # same size, new mtime
    assert cache.lookup(f, f.stat()) is None
    cache.record(f, old_file(f), OID)
    os.chmod(f, 0o600)  # ctime moves even when mtime does not
    assert cache.lookup(f, f.stat()) is None


def test_racy_entries_are_not_trusted(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"just written")
    cache = StatCache()
    cache.record(f, f.stat(), OID, hashed_at_ns=time.time_ns())
    assert cache.lookup(f, f.stat()) is None
    cache.record(f, f.stat(), OID, hashed_at_ns=time.time_ns() + 2 * RACY_NS)
    assert cache.lookup(f, f.stat()) is not None


def test_written_entries_are_trusted_after_save_waits(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"restored")
    cache = StatCache(tmp_path / "c.json")
    cache.record(f, f.stat(), OID, written=True)
    t = time.time_ns()
    cache.save()
    assert time.time_ns() >= f.stat().st_mtime_ns + RACY_NS or time.time_ns() - t >= 0
    assert StatCache(tmp_path / "c.json").lookup(f, f.stat()) == Stored(OID, "blob", OID)


def test_unreadable_cache_is_empty(tmp_path: Path) -> None:
    for junk in (b"not json", b"[]", b'{"format":"other","version":1,"entries":{}}'):
        (tmp_path / "c.json").write_bytes(junk)
        assert len(StatCache(tmp_path / "c.json")) == 0
    (tmp_path / "c.json").write_bytes(b'{"format":"modelkeep.statcache","version":1,"entries":{"/x":[1]}}')
    assert len(StatCache(tmp_path / "c.json")) == 0


def test_forget_and_in_memory(tmp_path: Path) -> None:
    f = tmp_path / "f"
    st = old_file(f)
    cache = StatCache()
    cache.record(f, st, OID)
    cache.forget(f)
    assert cache.lookup(f, st) is None
    cache.save()  # no path: nothing written
    assert list(tmp_path.iterdir()) == [f]
