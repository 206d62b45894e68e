"""Store a large file as chunks plus a manifest, reading it once, in bounded memory.

Three stages overlap, so both cores stay busy:

1. the main thread walks the cutting plan window by window (up to ``GROUP_FILL`` bytes of
   consecutive chunks, or one unsplit tensor up to ``WINDOW``; ``FILL`` bytes for
   content-defined chunking) in a small pool of reused buffers; for content-defined chunking
   it reads the window itself to find the cut points;
2. worker threads read their chunk into the window (when the boundaries were known in
   advance) and hash it block by block while each block is in the core's cache, then write
   it to ``tmp/`` unless the store already has it;
3. one thread feeds the whole-file BLAKE3 (and SHA-256 when asked) window by window, in
   file order, as soon as each window has been read.

At most ``BUFFERS`` windows are in flight, so memory stays near BUFFERS * FILL whatever the
file size. Reading with ``pread`` into anonymous maps (not mapping the file itself) turns a
file truncated under us into a clean FileChangedError instead of a SIGBUS.
"""

from __future__ import annotations

import contextlib
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
FILL = 32 << 20  # how much to read at once for content-defined chunking
# Consecutive known chunks (tensors) grouped into one window up to this size. Every buffer page
# a process touches is a fresh page for it, and on a VM that gives free memory back to the host
# a fresh page costs microseconds: 4 buffers x 8 MiB instead of 4 x 32 MiB saved ~0.1 s per
# register process (docs/benchmarks.md), and the buffers stay in the L3 cache.
GROUP_FILL = 8 << 20
BUFFERS = 4
BLOCK = 1 << 20  # chunk tasks read and hash in blocks this size (a core's L2 cache)
# Transparent huge pages for the buffers where the system offers them (Linux, THP "madvise" or
# "always"): a fresh 4 KiB page costs a fault and, on a VM, often a trip to the host; measured
# 14-22 ms to fill 4 x 8 MiB of new buffers with small pages, 3-4 ms with huge ones.
HUGE_PAGES = getattr(mmap, "MADV_HUGEPAGE", 0)


class _Window:
    """One window of the file in a pooled buffer, shared by its chunk tasks and the whole-file
    hasher; the buffer goes back to the pool when all of them are done with it."""

    def __init__(
        self, writer: ChunkedWriter, buf: mmap.mmap, offset: int, cuts: list[tuple[int, int]], *, read: bool
    ) -> None:
        self.writer, self.buf, self.offset, self.cuts = writer, buf, offset, cuts
        self.length = cuts[-1][0] + cuts[-1][1]
        self.view = memoryview(buf)[: self.length]
        self.first_index = 0
        self.needs_read = not read  # chunk tasks read their own bytes (boundaries known ahead)
        self._unread = 0 if read else len(cuts)
        self._users = len(cuts) + 1
        self._lock = threading.Lock()
        self.is_read = threading.Event()
        if read:
            self.is_read.set()

    def chunk_read(self) -> None:
        with self._lock:
            self._unread -= 1
            if self._unread == 0:
                self.is_read.set()

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            done = self._users == 0
        if done:
            self.view.release()
            self.writer.recycle(self.buf, self.length)


class ChunkedWriter:
    """Cuts one open file by its plan and stages every new chunk in ``batch``."""

    def __init__(
        self,
        batch: WriteBatch,
        fd: int,
        path: Path | str,
        *,
        workers: int,
        sha256: bool = False,
        on_bytes: Callable[[int], None] | None = None,
    ) -> None:
        self.batch, self.fd, self.path, self.workers = batch, fd, path, workers
        self.whole = Hasher(1)
        self.sha = None
        if sha256:  # OpenSSL's hashlib loads only for SHA-256 (LFS, --sha256)
            import hashlib

            self.sha = hashlib.sha256()
        self.on_bytes = on_bytes
        self.chunks: list[tuple[str, int] | None] = []
        self._free: queue.Queue[mmap.mmap] = queue.Queue()
        self._made = 0
        self._futures: list[Future[None]] = []
        self._pool: ThreadPoolExecutor | None = None
        self._in_order: queue.Queue[_Window | None] = queue.Queue()
        self._failed = False
        self._hash_error: BaseException | None = None

    def run(self, plan: Plan) -> FileManifest:
        """Read, cut, hash and stage the whole file; returns its (not yet stored) manifest."""
        hasher = threading.Thread(target=self._hash_in_order, name="modelkeep-whole-hash")
        hasher.start()
        with ThreadPoolExecutor(self.workers) as pool:
            self._pool = pool
            try:
                self._feed(plan.segments)
            finally:
                self._in_order.put(None)
                for f in self._futures:  # wait for every task before the buffers go away
                    f.exception()
                hasher.join()
        self._raise_failure()
        chunks = [c for c in self.chunks if c is not None]
        assert len(chunks) == len(self.chunks) and sum(n for _, n in chunks) == self.whole.size
        sha = self.sha.hexdigest() if self.sha is not None else None
        return FileManifest(self.whole.hexdigest(), self.whole.size, tuple(chunks), plan.chunker, sha)

    def recycle(self, buf: mmap.mmap, used: int) -> None:
        """Return a buffer to the pool, giving back the pages beyond FILL a big tensor used."""
        if used > FILL:
            buf.madvise(mmap.MADV_DONTNEED, FILL, WINDOW - FILL)
        self._free.put(buf)

    def _feed(self, segments: tuple[Segment, ...]) -> None:
        group: list[Segment] = []
        for seg in segments:
            if seg.cdc:
                self._fixed(group)
                group = []
                self._cdc(seg)
            else:
                if group and sum(s.length for s in group) + seg.length > GROUP_FILL:
                    self._fixed(group)
                    group = []
                group.append(seg)
        self._fixed(group)

    def _fixed(self, group: list[Segment]) -> None:
        if group:
            base = group[0].offset
            self._emit(
                _Window(self, self._buffer(), base, [(s.offset - base, s.length) for s in group], read=False)
            )

    def _cdc(self, seg: Segment) -> None:
        cdc = new_cdc()
        pos, end = seg.offset, seg.offset + seg.length
        while pos < end:
            buf = self._buffer()
            view = memoryview(buf)[: min(FILL, end - pos)]
            self._pread(view, pos)
            cuts = [(c.offset, c.length) for c in cdc.cut_buf(view)]
            view.release()
            if pos + min(FILL, end - pos) < end and len(cuts) > 1:
                cuts.pop()  # ends at the window edge, not at a real cut point: read it again
            window = _Window(self, buf, pos, cuts, read=True)
            self._emit(window)
            pos += window.length

    def _buffer(self) -> mmap.mmap:
        if self._failed:  # a task failed (disk full, file changed...): stop, report it
            self._raise_failure()
        if self._made < BUFFERS and self._free.empty():
            # private, not shared, anonymous pages: cheaper to fault in; resident only when read into
            buf = mmap.mmap(-1, WINDOW, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
            if HUGE_PAGES:  # 2 MiB pages: 16 faults, not 8,192, for the 32 MiB a process fills
                with contextlib.suppress(OSError):  # EINVAL: a kernel built without THP
                    buf.madvise(HUGE_PAGES)
            self._free.put(buf)
            self._made += 1
        return self._free.get()

    def _raise_failure(self) -> None:
        for f in self._futures:
            if f.done():
                f.result()
        if self._hash_error is not None:
            raise self._hash_error

    def _pread(self, view: memoryview, offset: int) -> None:
        got = 0
        with source_errors(self.path):
            while got < len(view):
                r = os.preadv(self.fd, [view[got:]], offset + got)
                if r == 0:
                    raise file_changed(self.path)  # shorter than when we started
                got += r

    def _emit(self, window: _Window) -> None:
        assert self._pool is not None
        window.first_index = len(self.chunks)
        self.chunks.extend([None] * len(window.cuts))
        self._in_order.put(window)
        for i in range(len(window.cuts)):
            self._futures.append(self._pool.submit(self._store_chunk, window, i))

    def _store_chunk(self, window: _Window, i: int) -> None:
        off, n = window.cuts[i]
        data = window.view[off : off + n]
        try:
            if window.needs_read:
                h = Hasher(1)
                try:  # hash each block while it is still in this core's cache
                    for pos in range(0, n, BLOCK):
                        block = data[pos : pos + BLOCK]
                        self._pread(block, window.offset + off + pos)
                        h.update(block)
                        block.release()
                finally:
                    window.chunk_read()
                oid = self.batch.put_hashed(data, h.hexdigest())
            else:
                oid = self.batch.put_bytes(data, threads=1)
            self.chunks[window.first_index + i] = (oid, n)
        except BaseException:
            self._failed = True
            raise
        finally:
            data.release()
            window.release()

    def _hash_in_order(self) -> None:
        while (window := self._in_order.get()) is not None:
            try:  # keep draining after a failure, or the main thread would wait for buffers
                window.is_read.wait()
                if not self._failed:
                    self.whole.update(window.view)
                    if self.sha is not None:
                        self.sha.update(window.view)
                    if self.on_bytes is not None:
                        self.on_bytes(window.length)
            except BaseException as exc:
                self._hash_error, self._failed = exc, True
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
        writer = ChunkedWriter(batch, fd, path, workers=workers, sha256=sha256, on_bytes=on_bytes)
        manifest = writer.run(plan)
        check_unchanged(path, before, os.fstat(fd), manifest.size)
    finally:
        os.close(fd)
    return batch.put_bytes(manifest.encode()), manifest, plan.note
