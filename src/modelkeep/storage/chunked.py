"""Store a large file as chunks plus a manifest, reading it once, in bounded memory.

The main thread reads windows of up to ``WINDOW`` bytes with ``pread`` into a small pool of
reused buffers, feeds the whole-file hasher (and SHA-256 when asked) in file order, and hands
each chunk of the window to worker threads that hash it and write it unless the store already
has it. At most ``BUFFERS`` windows are in flight, so memory stays below BUFFERS * WINDOW
(typically BUFFERS * FILL) however large the file. Reading with ``pread`` into anonymous maps
(not mapping the file itself) turns a file truncated under us into a clean FileChangedError
instead of a SIGBUS.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from modelkeep.storage.batch import WriteBatch, check_unchanged, file_changed
from modelkeep.storage.chunkers import Plan, Segment, new_cdc, plan_file
from modelkeep.storage.durable import source_errors
from modelkeep.storage.hashing import Hasher
from modelkeep.storage.manifest import FileManifest

WINDOW = 64 << 20  # buffer capacity: the largest unsplit tensor must fit
FILL = 32 << 20  # how much to read at once when chunks are smaller
BUFFERS = 3


class _Window:
    """A pooled buffer shared by the chunk tasks of one window; returned when all are done."""

    def __init__(self, pool: queue.Queue[mmap.mmap], buf: mmap.mmap, users: int) -> None:
        self._pool, self.buf, self._users = pool, buf, users
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            done = self._users == 0
        if done:
            self._pool.put(self.buf)


class ChunkedWriter:
    """Cuts one open file by its plan and stages every new chunk in ``batch``."""

    def __init__(
        self,
        batch: WriteBatch,
        fd: int,
        path: Path | str,
        size: int,
        *,
        workers: int,
        sha256: bool = False,
        on_bytes: Callable[[int], None] | None = None,
    ) -> None:
        self.batch, self.fd, self.path, self.size = batch, fd, path, size
        self.workers = workers
        self.whole = Hasher(1)
        self.sha = hashlib.sha256() if sha256 else None
        self.on_bytes = on_bytes
        self.chunks: list[tuple[str, int] | None] = []
        self._free: queue.Queue[mmap.mmap] = queue.Queue()
        self._made = 0
        self._futures: list[Future[None]] = []
        self._pool: ThreadPoolExecutor | None = None
        self._failed = False

    def run(self, plan: Plan) -> FileManifest:
        """Read, cut, hash and stage the whole file; returns its (not yet stored) manifest."""
        with ThreadPoolExecutor(self.workers) as pool:
            self._pool = pool
            try:
                self._feed(plan.segments)
            finally:
                for f in self._futures:  # wait for every task before the buffers go away
                    f.exception()
        for f in self._futures:
            f.result()
        chunks = [c for c in self.chunks if c is not None]
        assert len(chunks) == len(self.chunks) and sum(n for _, n in chunks) == self.whole.size
        sha = self.sha.hexdigest() if self.sha is not None else None
        return FileManifest(self.whole.hexdigest(), self.whole.size, tuple(chunks), plan.chunker, sha)

    def _feed(self, segments: tuple[Segment, ...]) -> None:
        group: list[Segment] = []
        for seg in segments:
            if seg.cdc:
                self._fixed(group)
                group = []
                self._cdc(seg)
            else:
                if group and sum(s.length for s in group) + seg.length > FILL:
                    self._fixed(group)
                    group = []
                group.append(seg)
        self._fixed(group)

    def _fixed(self, group: list[Segment]) -> None:
        if not group:
            return
        base = group[0].offset
        buf, view = self._read(base, group[-1].offset + group[-1].length - base)
        self._emit(buf, view, [(s.offset - base, s.length) for s in group])

    def _cdc(self, seg: Segment) -> None:
        cdc = new_cdc()
        pos, end = seg.offset, seg.offset + seg.length
        while pos < end:
            buf, view = self._read(pos, min(FILL, end - pos))
            cuts = [(c.offset, c.length) for c in cdc.cut_buf(view)]
            if pos + len(view) < end and len(cuts) > 1:
                cuts.pop()  # ends at the window edge, not at a real cut point: read it again
            used = cuts[-1][0] + cuts[-1][1]
            self._emit(buf, view[:used], cuts)
            pos += used

    def _read(self, offset: int, n: int) -> tuple[mmap.mmap, memoryview]:
        if self._failed:  # a chunk task failed (disk full...): stop reading, report it
            for f in self._futures:
                f.result()
        if self._made < BUFFERS and self._free.empty():
            self._free.put(mmap.mmap(-1, WINDOW))  # pages become resident only when read into
            self._made += 1
        buf = self._free.get()
        view = memoryview(buf)[:n]
        got = 0
        with source_errors(self.path):
            while got < n:
                r = os.preadv(self.fd, [view[got:]], offset + got)
                if r == 0:
                    raise file_changed(self.path)  # shorter than when we started
                got += r
        return buf, view

    def _emit(self, buf: mmap.mmap, view: memoryview, cuts: list[tuple[int, int]]) -> None:
        assert self._pool is not None
        window = _Window(self._free, buf, len(cuts))
        first = len(self.chunks)
        self.chunks.extend([None] * len(cuts))
        for i, (off, n) in enumerate(cuts):
            task = self._pool.submit(self._store_chunk, first + i, view[off : off + n], window)
            self._futures.append(task)
        self.whole.update(view)
        if self.sha is not None:
            self.sha.update(view)
        if self.on_bytes is not None:
            self.on_bytes(len(view))

    def _store_chunk(self, index: int, data: memoryview, window: _Window) -> None:
        try:
            oid = self.batch.put_bytes(data, threads=1)
            self.chunks[index] = (oid, len(data))
        except BaseException:
            self._failed = True
            raise
        finally:
            window.release()


def store_chunked(
    batch: WriteBatch,
    path: Path | str,
    expect: os.stat_result,
    *,
    workers: int,
    sha256: bool = False,
    on_bytes: Callable[[int], None] | None = None,
) -> tuple[str, FileManifest, str | None]:
    """Stage ``path`` as chunks plus manifest; returns (manifest id, manifest, note).

    FileChangedError if the file differs from ``expect`` or changes while being read.
    """
    with source_errors(path):
        fd = os.open(path, os.O_RDONLY)
    try:
        before = os.fstat(fd)
        check_unchanged(path, expect, before, before.st_size)
        with source_errors(path):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        plan = plan_file(os.path.basename(path), fd, before.st_size)
        writer = ChunkedWriter(
            batch, fd, path, before.st_size, workers=workers, sha256=sha256, on_bytes=on_bytes
        )
        manifest = writer.run(plan)
        check_unchanged(path, before, os.fstat(fd), manifest.size)
    finally:
        os.close(fd)
    return batch.put_bytes(manifest.encode()), manifest, plan.note
