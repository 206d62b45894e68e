"""The store lock: orders gc's sweep against writers that reuse existing objects.

A writer that finds an object already stored *reuses* it and freshens its mtime, so that gc's
grace period protects it until the writer's tree is recorded. Without a lock a sweep could read
the old mtime, the writer freshen the object, and the sweep then delete it. So every write
batch holds the lock *shared* from its first write until it is published or dropped, and a
sweep holds it *exclusively* while it decides and deletes: the two never interleave.

It is an ``flock`` on ``objects/lock``: the kernel releases it when a process dies, so a killed
writer or gc never leaves the store locked. (Stores on network filesystems get whatever flock
semantics the filesystem offers.)
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from types import TracebackType

from modelkeep.storage.durable import storage_errors

LOCK_NAME = "lock"  # not a two-character fan-out folder, so object listings skip it


class StoreLock:
    """A shared (writers) or exclusive (gc sweep) lock on one object store; re-entrant no."""

    def __init__(self, root: Path, *, exclusive: bool) -> None:
        self._path = Path(root) / LOCK_NAME
        self._mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        self._fd: int | None = None
        self._guard = threading.Lock()

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock (waiting for the other kind to be released); no-op if held."""
        with self._guard:
            if self._fd is not None:
                return
            with storage_errors(self._path):
                fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, self._mode)
                except BaseException:
                    os.close(fd)
                    raise
            self._fd = fd

    def release(self) -> None:
        """Let the lock go; no-op if not held."""
        with self._guard:
            if self._fd is not None:
                os.close(self._fd)  # closing the descriptor releases the flock
                self._fd = None

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def __del__(self) -> None:  # a batch dropped without commit or abort
        self.release()
