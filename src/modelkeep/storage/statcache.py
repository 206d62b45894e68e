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
from dataclasses import dataclass
from pathlib import Path

from modelkeep.storage.durable import write_file_atomic

RACY_NS = 50_000_000  # 50 ms: larger than any filesystem timestamp tick
MAX_ENTRIES = 1_000_000
_FORMAT = "modelkeep.statcache"


@dataclass(frozen=True)
class CacheHit:
    """What the cache knows about a file: its content id and the object that stores it."""

    file_id: str
    oid: str
    kind: str


class StatCache:
    """A thread-safe map from a file's stat to its content id, persisted at ``path``.

    ``path=None`` keeps the cache in memory only.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._dirty = False
        self._entries: dict[str, list] = self._load()

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, path: Path | str, st: os.stat_result) -> CacheHit | None:
        """The cached ids for ``path`` if its stat is unchanged and the entry is not racy."""
        with self._lock:
            e = self._entries.get(os.path.abspath(path))
        if e is None or not e[7] or e[:4] != _key(st):
            return None
        return CacheHit(e[4], e[5], e[6])

    def record(
        self,
        path: Path | str,
        st: os.stat_result,
        file_id: str,
        *,
        oid: str | None = None,
        kind: str = "blob",
        hashed_at_ns: int | None = None,
    ) -> None:
        """Remember that the file with stat ``st`` (taken before hashing) has ``file_id``."""
        when = time.time_ns() if hashed_at_ns is None else hashed_at_ns
        trusted = max(st.st_mtime_ns, st.st_ctime_ns) + RACY_NS < when
        entry = [*_key(st), file_id, oid or file_id, kind, trusted]
        key = os.path.abspath(path)
        with self._lock:
            self._entries.pop(key, None)  # re-insert last: save() keeps the newest entries
            self._entries[key] = entry
            self._dirty = True

    def forget(self, path: Path | str) -> None:
        """Drop what is known about ``path``."""
        with self._lock:
            if self._entries.pop(os.path.abspath(path), None) is not None:
                self._dirty = True

    def save(self) -> None:
        """Write the cache to its file if anything changed (atomic, not fsynced: a hint)."""
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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomic(self.path, payload, durable=False)

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


def _key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
