"""The content-addressed object store: ``objects/ab/cdef…`` named by BLAKE3-256.

Every write computes the id from the bytes actually written (a claimed id is only compared,
never trusted), goes to ``tmp/`` first, is made durable, then renamed into place: a reader never
sees a partial object. Objects are immutable and read-only (mode 0444). Reads verify the hash,
and an object found corrupt by any read is moved to ``quarantine/`` (kept as evidence, out of
the store's way) so that the next write of the same content (register, pull, ``fsck --repair``)
stores it again instead of reusing the damaged copy.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from modelkeep.errors import CorruptObjectError, ObjectNotFoundError
from modelkeep.storage.batch import WriteBatch
from modelkeep.storage.hashing import (
    Buffer,
    Hasher,
    Progress,
    check_object_id,
    hash_bytes,
    is_object_id,
    iter_blocks,
)
from modelkeep.storage.locks import StoreLock
from modelkeep.storage.statcache import StatCache

_DIRENT_BYTES = 72  # an ext4 entry for a 62-character name: estimates a folder's size
_PROBE_COST = 30  # one stat costs about as much as listing this many names


class ObjectStore:
    """A folder of immutable, verified objects plus a staging folder on the same filesystem."""

    def __init__(
        self,
        root: Path,
        tmp_dir: Path,
        workers: int = 2,
        *,
        stat_cache_path: Path | None = None,
        quarantine_dir: Path | None = None,
    ) -> None:
        self.root = Path(root)
        self.tmp_dir = Path(tmp_dir)
        # beside tmp/, which is on the objects' filesystem: quarantining is a rename
        self.quarantine_dir = Path(quarantine_dir) if quarantine_dir else self.tmp_dir.parent / "quarantine"
        self.workers = max(1, int(workers))
        self.root.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self._root = os.fspath(self.root.absolute())
        self._stat_cache_path = stat_cache_path
        self._stat_cache: StatCache | None = None
        self._lock = threading.Lock()

    @property
    def stat_cache(self) -> StatCache | None:
        """The stat cache add_path and checkout use by default (None unless a path was given).

        It lives beside the store (e.g. ``.modelkeep/statcache.json``), is loaded on first use
        and shared by every operation on this store object.
        """
        if self._stat_cache_path is None:
            return None
        with self._lock:
            if self._stat_cache is None:
                self._stat_cache = StatCache(self._stat_cache_path)
            return self._stat_cache

    def __repr__(self) -> str:
        return f"ObjectStore({str(self.root)!r})"

    # -- naming ---------------------------------------------------------------------------
    def object_path(self, oid: str) -> Path:
        """Where object ``oid`` lives: ``root/ab/cdef…`` (the id is validated first)."""
        check_object_id(oid)
        return self.root / oid[:2] / oid[2:]

    def has(self, oid: str) -> bool:
        """True when object ``oid`` is present (its content is not re-checked: see verify)."""
        check_object_id(oid)
        return os.path.isfile(f"{self._root}/{oid[:2]}/{oid[2:]}")  # hot path: no pathlib

    def freshen(self, oid: str) -> bool:
        """True when object ``oid`` is present, and then set its mtime to now (as git does when
        a write finds its object already stored): gc never deletes an object younger than its
        grace period, so an object that a running add or register is reusing is protected."""
        check_object_id(oid)
        try:
            os.utime(f"{self._root}/{oid[:2]}/{oid[2:]}")
        except FileNotFoundError:
            return False
        except PermissionError:  # someone else's object in a shared store: still present
            return self.has(oid)
        return True

    def has_many(self, oids: Iterable[str]) -> set[str]:
        """The subset of ``oids`` present. Lists a fan-out folder instead of probing each id
        when many of its entries are wanted (50,000 probes cost more than 256 listings)."""
        wanted: dict[str, set[str]] = {}
        for oid in oids:
            check_object_id(oid)
            wanted.setdefault(oid[:2], set()).add(oid[2:])
        present: set[str] = set()
        for prefix, names in wanted.items():
            folder = f"{self._root}/{prefix}"
            try:
                entries = os.stat(folder).st_size // _DIRENT_BYTES
            except FileNotFoundError:
                continue
            if len(names) * _PROBE_COST > entries:
                found = names.intersection(os.listdir(folder))
            else:
                found = {n for n in names if os.path.isfile(f"{folder}/{n}")}
            present.update(prefix + n for n in found)
        return present

    def size(self, oid: str) -> int:
        """The size in bytes of object ``oid``."""
        return self._stat(oid).st_size

    def iter_ids(self) -> Iterator[str]:
        """Every object id present, in no particular order."""
        with os.scandir(self.root) as fanout:
            for d in fanout:
                if len(d.name) != 2 or not d.is_dir(follow_symlinks=False):
                    continue
                with os.scandir(d.path) as files:
                    for f in files:
                        oid = d.name + f.name
                        if is_object_id(oid):
                            yield oid

    # -- writing --------------------------------------------------------------------------
    def batch(self) -> WriteBatch:
        """A group of writes made durable together on commit (use as a context manager)."""
        return WriteBatch(self)

    def recording(self) -> StoreLock:
        """The store lock, shared, for a writer to hold from its first object until the
        database records what needs them (a version, a restore): gc computes its root set
        under the exclusive lock, so it sees that record or the writer has not started."""
        return StoreLock(self.root, exclusive=False)

    def put_bytes(self, data: Buffer, *, expected: str | None = None) -> str:
        """Store ``data`` durably and return its id; ``expected`` is checked, never trusted."""
        with self.batch() as b:
            return b.put_bytes(data, expected=expected)

    def put_file(self, path: Path, *, progress: Progress | None = None, expected: str | None = None) -> str:
        """Store a whole file as one blob, streamed (bounded memory), and return its id."""
        with self.batch() as b:
            return b.put_file(Path(path), progress=progress, expected=expected)

    # -- reading --------------------------------------------------------------------------
    def get_bytes(self, oid: str) -> bytes:
        """The content of object ``oid``, verified against its id."""
        path = self.object_path(oid)
        try:
            with open(path, "rb", buffering=0) as f:
                data = f.readall()
                if hash_bytes(data, threads=self.workers) != oid:
                    raise self.found_corrupt(oid, os.fstat(f.fileno()))
        except FileNotFoundError:
            raise self.not_found(oid) from None
        return data

    def iter_blocks(self, oid: str) -> Iterator[memoryview]:
        """Stream object ``oid`` in blocks; CorruptObjectError after the last block if bad.

        Blocks are views on one reused buffer, valid until the next block is produced.
        """
        path = self.object_path(oid)
        h = Hasher(self.workers)
        try:
            f = open(path, "rb", buffering=0)  # noqa: SIM115 (closed below, after the last block)
        except FileNotFoundError:
            raise self.not_found(oid) from None
        with f:
            st = os.fstat(f.fileno())
            for block in iter_blocks(f, st.st_size):
                h.update(block)
                yield block
            if h.hexdigest() != oid:
                raise self.found_corrupt(oid, st)

    def verify(self, oid: str) -> bool:
        """Re-hash object ``oid``: True when intact (a corrupt one is quarantined);
        ObjectNotFoundError when missing."""
        try:
            for _ in self.iter_blocks(oid):
                pass
        except CorruptObjectError:
            return False
        return True

    # -- removing -------------------------------------------------------------------------
    def delete(self, oid: str) -> int:
        """Remove object ``oid``; returns the bytes freed (0 if absent or still hard-linked)."""
        path = self.object_path(oid)
        try:
            st = path.stat()
            path.unlink()
        except FileNotFoundError:
            return 0
        return st.st_size if st.st_nlink == 1 else 0

    def clean_tmp(self, older_than: float = 3600.0) -> int:
        """Remove staged files left by crashed writers; returns how many were removed."""
        cutoff = time.time() - older_than
        removed = 0
        with os.scandir(self.tmp_dir) as entries:
            for e in entries:
                st = e.stat(follow_symlinks=False)
                if stat.S_ISREG(st.st_mode) and st.st_mtime < cutoff:
                    os.unlink(e.path)
                    removed += 1
        return removed

    def quarantine(self, oid: str, seen: os.stat_result | None = None) -> bool:
        """Move object ``oid`` out of the store into ``quarantine/OID.<random>``; True if moved.

        ``seen`` is the stat of the file that was found corrupt: the object is moved only if it
        is still that file (a repair may have replaced it meanwhile). Where it cannot be moved
        (another filesystem, permissions) it is deleted; where that fails too it stays.
        """
        path = self.object_path(oid)
        try:
            now = path.stat()
            if seen is not None and (now.st_ino, now.st_dev) != (seen.st_ino, seen.st_dev):
                return False
            self.quarantine_dir.mkdir(parents=True, exist_ok=True)
            os.rename(path, self.quarantine_dir / f"{oid}.{os.urandom(4).hex()}")
            return True
        except FileNotFoundError:
            return False
        except OSError:
            try:
                path.unlink()
                return True
            except OSError:
                return False

    def found_corrupt(self, oid: str, seen: os.stat_result | None = None) -> CorruptObjectError:
        """Quarantine object ``oid`` (found corrupt by a read) and return the error to raise."""
        return self.corrupt(oid, quarantined=self.quarantine(oid, seen))

    # -- helpers --------------------------------------------------------------------------
    def _stat(self, oid: str) -> os.stat_result:
        try:
            return self.object_path(oid).stat()
        except FileNotFoundError:
            raise self.not_found(oid) from None

    def not_found(self, oid: str) -> ObjectNotFoundError:
        """The error for a missing object, with the command to recover it."""
        return ObjectNotFoundError(
            f"object {oid} is not in the store {self.root}",
            hint="run 'modelkeep pull NAME@VERSION' to fetch it from a remote (after a partial "
            "pull, check out with the same --tensor or --include), or 'modelkeep fsck'",
            oid=oid,
        )

    def corrupt(self, oid: str, *, quarantined: bool = False) -> CorruptObjectError:
        """The error for an object whose content no longer matches its id."""
        where = f" (moved to {self.quarantine_dir})" if quarantined else ""
        return CorruptObjectError(
            f"object {oid} is corrupt: its content no longer hashes to its id{where}",
            hint="fetch a good copy from a remote: modelkeep fsck --repair",
            oid=oid,
            path=str(self.root / oid[:2] / oid[2:]),
        )
