"""The stat cache: (path, size, mtime, ctime, inode) -> content id, so unchanged files are not
re-hashed when they are added again or when a checkout finds them already in place.

Racy entries are never trusted: a file whose mtime or ctime is within ``RACY_NS`` of the moment
it was hashed could be modified again within the same timestamp tick without its stat
changing, so such an entry is only a hint and the file is hashed again next time (as git does).
The cache is a JSON file written atomically; a missing or unreadable file is an empty cache.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from pathlib import Path
from typing import NamedTuple

from modelkeep.errors import StorageError
from modelkeep.storage.durable import READ_ONLY_ERRNOS, write_file_atomic

RACY_NS = 50_000_000  # 50 ms: larger than any filesystem timestamp tick
MAX_ENTRIES = 1_000_000
_FORMAT = "modelkeep.statcache"


class Stored(NamedTuple):
    """How a file is stored: the object to fetch (blob or manifest) and the file's own id."""

    oid: str
    kind: str
    file_id: str
    note: str | None = None


CacheHit = Stored  # what a lookup returns


class StatCache:
    """A thread-safe map from a file's stat to its content id, persisted at ``path``.

    ``path=None`` keeps the cache in memory only.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._dirty = False
        self._newest_write = 0
        self._entries: dict[str, list] = self._load()

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, path: Path | str, st: os.stat_result) -> CacheHit | None:
        """The cached ids for ``path`` if its stat is unchanged and the entry is not racy."""
        e = self._entries.get(_key_of(path))  # a dict read is atomic: no lock on the hot path
        if (
            e is None
            or not e[7]
            or e[0] != st.st_size
            or e[1] != st.st_mtime_ns
            or e[2] != st.st_ctime_ns
            or e[3] != st.st_ino
        ):
            return None
        return Stored(e[5], e[6], e[4])

    def record(
        self,
        path: Path | str,
        st: os.stat_result,
        file_id: str,
        *,
        oid: str | None = None,
        kind: str = "blob",
        hashed_at_ns: int | None = None,
        written: bool = False,
    ) -> None:
        """Remember that the file with stat ``st`` has ``file_id``.

        ``st`` is the stat taken before hashing (at ``hashed_at_ns``), or, with ``written``, the
        stat taken just after modelkeep itself wrote the file (see ``save`` for why that is safe).
        """
        when = time.time_ns() if hashed_at_ns is None else hashed_at_ns
        trusted = written or max(st.st_mtime_ns, st.st_ctime_ns) + RACY_NS < when
        entry = [*_stat_key(st), file_id, oid or file_id, kind, trusted]
        key = _key_of(path)
        with self._lock:
            self._entries.pop(key, None)  # re-insert last: save() keeps the newest entries
            self._entries[key] = entry
            self._dirty = True
            if written:
                self._newest_write = max(self._newest_write, st.st_mtime_ns, st.st_ctime_ns)

    def forget(self, path: Path | str) -> None:
        """Drop what is known about ``path``."""
        with self._lock:
            if self._entries.pop(_key_of(path), None) is not None:
                self._dirty = True

    def save(self) -> None:
        """Write the cache to its file if anything changed (atomic, not fsynced: a hint).

        If modelkeep wrote files within the last timestamp tick, wait for the tick to pass
        first (at most ``RACY_NS``): a change made after we return then always moves mtime.
        """
        wait = self._newest_write + RACY_NS - time.time_ns()
        if wait > 0:
            time.sleep(wait / 1e9)
        self._newest_write = 0
        if self.path is None:
            return
        with self._lock:
            if not self._dirty:
                return
            if len(self._entries) > MAX_ENTRIES:  # keep the most recently recorded
                keep = list(self._entries.items())[-MAX_ENTRIES:]
                self._entries = dict(keep)
            data = {"format": _FORMAT, "version": 1, "entries": self._entries}
            payload = json.dumps(data, separators=(",", ":")).encode("utf-8")
            self._dirty = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_file_atomic(self.path, payload, durable=False)
        except (OSError, StorageError) as exc:
            cause = exc if isinstance(exc, OSError) else exc.__cause__
            if not (isinstance(cause, OSError) and cause.errno in READ_ONLY_ERRNOS):
                raise
            # a read-only keep (checkout from a read-only mount): the cache is only a hint

    def _load(self) -> dict[str, list]:
        if self.path is None:
            return {}
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(self.path.read_bytes())
            if (
                isinstance(data, dict)
                and data.get("format") == _FORMAT
                and data.get("version") == 1
                and isinstance(data.get("entries"), dict)
            ):
                return {k: v for k, v in data["entries"].items() if isinstance(v, list) and len(v) == 8}
        return {}


def _stat_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _key_of(path: Path | str) -> str:
    if isinstance(path, str) and path.startswith("/"):
        return path  # already absolute (scan and checkout build absolute paths)
    return os.path.abspath(path)
