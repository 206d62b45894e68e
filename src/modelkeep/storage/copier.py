"""Byte movers for checkout: kernel copies (copy_file_range), reflinks (FICLONE) and verified
copies, from stored objects into an open destination file.

A verified copy hashes while it copies, in one pass: each block is read once into a reused
buffer, fed to the whole-file BLAKE3, and written from the same buffer. The whole-file id
covers every byte of every chunk, so a corrupt chunk, a chunk swapped for another one and a
manifest listing other chunks under a genuine file id all fail it; only then are the chunks
re-hashed one by one, to name (and quarantine) the culprit or to blame the manifest or tree.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from modelkeep.errors import CorruptObjectError
from modelkeep.storage.durable import write_all_at
from modelkeep.storage.hashing import Hasher
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.tree import TreeEntry
from modelkeep.storage.verify import lie

if TYPE_CHECKING:
    from concurrent.futures import Future

FICLONE = 0x40049409  # _IOW(0x94, 9, int): share the source's extents (btrfs, xfs, bcachefs)
_NO_REFLINK = {errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS}
_NO_COPY_RANGE = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP}
_STEP = 1 << 30
BUFFERED_MIN = 4 << 20  # files this large are copied through an aligned buffer, not copy_file_range
BUFFER = 4 << 20  # the aligned buffer (one per thread, reused)
WRITE = 128 << 10  # bytes per pwrite: aligned, and small enough to avoid huge page-cache folios
_local = threading.local()


def reflink(store: ObjectStore, oid: str, fd_out: int) -> bool:
    """Clone object ``oid`` into ``fd_out``; False when the filesystem cannot reflink."""
    fd_in = os.open(store.object_path(oid), os.O_RDONLY)
    try:
        fcntl.ioctl(fd_out, FICLONE, fd_in)
        return True
    except OSError as exc:
        if exc.errno in _NO_REFLINK:
            return False
        raise
    finally:
        os.close(fd_in)


def copy_chunks(store: ObjectStore, chunks: Sequence[tuple[str, int]], fd_out: int) -> int:
    """Write the chunks, in order, into the empty file ``fd_out``; returns the bytes written.
    An object shorter than its size is corrupt.

    A file of one small object is copied in the kernel (copy_file_range). Larger files are
    read into a reused 4 MiB buffer and written in aligned 128 KiB pieces: chunks end at tensor
    boundaries, so copying each one in the kernel writes at unaligned offsets and touches every
    destination page twice. Measured on checkouts of 1 GiB in 200 unaligned chunks (median of
    7, this VM; ``cp`` 0.26-0.28 s): 128 KiB writes 0.29 s; 64 KiB 0.31 s (more system calls);
    256 KiB 0.27 s but 0.9-1 s in 2 runs of 7, and 1-8 MiB writes 0.24 s at best but 1-2.5 s in
    half the runs (the kernel compacts memory for their large page-cache folios);
    copy_file_range per chunk 0.42 s (0.34 s after fallocate; fallocate before buffered writes
    is far worse, 2 s). Two threads are no faster: writes to one file share its inode lock."""
    total = sum(size for _, size in chunks)
    if total < BUFFERED_MIN:
        plan, pos = [], 0
        for oid, size in chunks:
            plan.append((oid, size, pos))
            pos += size
        _copy_group(store, plan, fd_out)
    else:
        _copy_buffered(store, chunks, fd_out)
    return total


def _copy_buffered(store: ObjectStore, chunks: Sequence[tuple[str, int]], fd_out: int) -> None:
    view = _buffer()
    fill = pos = 0
    for oid, size in chunks:
        fd_in = os.open(store.object_path(oid), os.O_RDONLY)
        try:
            _check_size(oid, fd_in, size)
            done = 0
            while done < size:
                n = os.preadv(fd_in, [view[fill : fill + min(size - done, BUFFER - fill)]], done)
                if n == 0:
                    raise _short(oid, done, size)
                done += n
                fill += n
                if fill == BUFFER:
                    _write_out(fd_out, view, fill, pos)
                    pos += fill
                    fill = 0
        finally:
            os.close(fd_in)
    _write_out(fd_out, view, fill, pos)


def _write_out(fd_out: int, view: memoryview, length: int, pos: int) -> None:
    for off in range(0, length, WRITE):
        write_all_at(fd_out, view[off : min(length, off + WRITE)], pos + off)


def _buffer() -> memoryview:
    return _buffers()[0]


def _buffers() -> tuple[memoryview, memoryview]:
    """This thread's two reused aligned buffers (the second is mapped on first use only)."""
    views: tuple[memoryview, memoryview] | None = getattr(_local, "views", None)
    if views is None:
        views = _local.views = (memoryview(mmap.mmap(-1, BUFFER)), memoryview(mmap.mmap(-1, BUFFER)))
    return views


def _copy_group(store: ObjectStore, group: list[tuple[str, int, int]], fd_out: int) -> None:
    for oid, size, dst in group:
        fd_in = os.open(store.object_path(oid), os.O_RDONLY)
        try:
            _check_size(oid, fd_in, size)
            copied = _copy_range(fd_in, fd_out, size, dst)
        finally:
            os.close(fd_in)
        if copied != size:
            raise _short(oid, copied, size)


def _check_size(oid: str, fd_in: int, size: int) -> None:
    """An object that is not the size its manifest or tree entry says cannot be copied."""
    held = os.fstat(fd_in).st_size
    if held != size:
        raise _short(oid, held, size)


def _short(oid: str, got: int, size: int) -> CorruptObjectError:
    return CorruptObjectError(
        f"object {oid} holds {got} bytes, expected {size}", hint="run 'modelkeep fsck'", oid=oid
    )


def copy_chunks_verified(
    store: ObjectStore, chunks: Sequence[tuple[str, int]], fd_out: int, entry: TreeEntry
) -> int:
    """Like copy_chunks, but the bytes are hashed as they are copied and must rebuild the file
    id the tree lists for ``entry``; returns the bytes written.

    CorruptObjectError otherwise, naming the corrupt object (now quarantined) or, when every
    object is intact, the file whose manifest or tree entry lies. Files of ``BUFFERED_MIN`` or
    more are hashed on a second thread, one buffer behind the copy (two buffers alternate), so
    hashing overlaps the reads and writes instead of adding to them.
    """
    total = sum(size for _, size in chunks)
    with _HashedWriter(fd_out, threaded=total >= BUFFERED_MIN) as out:
        for oid, size in chunks:
            fd_in = os.open(store.object_path(oid), os.O_RDONLY)
            try:
                if os.fstat(fd_in).st_size != size:
                    raise blame(store, chunks, entry)
                done = 0
                while done < size:
                    view, fill = out.view, out.fill
                    n = os.preadv(fd_in, [view[fill : fill + min(size - done, BUFFER - fill)]], done)
                    if n == 0:
                        raise blame(store, chunks, entry)
                    done += n
                    out.filled(n)
            finally:
                os.close(fd_in)
        file_id = out.finish()
    if file_id != entry.file_id:
        raise blame(store, chunks, entry)
    return total


class _HashedWriter:
    """Writes buffers of a file in order while feeding them, in order, to one BLAKE3 hasher,
    inline or on a helper thread that runs one buffer behind."""

    def __init__(self, fd_out: int, *, threaded: bool) -> None:
        self.fd_out, self.pos, self.fill = fd_out, 0, 0
        self.whole = Hasher(1)
        self._views = _buffers()
        self._current = 0
        self._pool = None
        if threaded:  # large files only: small ones hash inline (and import no thread pool)
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(1, thread_name_prefix="modelkeep-verify")
        self._pending: Future[None] | None = None

    @property
    def view(self) -> memoryview:
        return self._views[self._current]

    def __enter__(self) -> _HashedWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def filled(self, n: int) -> None:
        """``n`` more bytes were read into the current buffer; write it out once full."""
        self.fill += n
        if self.fill == BUFFER:
            self._flush()

    def finish(self) -> str:
        """Write what is left; the id of everything written."""
        self._flush()
        if self._pending is not None:
            self._pending.result()
        return self.whole.hexdigest()

    def _flush(self) -> None:
        view = self.view[: self.fill]
        if self._pending is not None:
            self._pending.result()  # the hasher is done with the other buffer: reuse is safe
        if self._pool is not None:
            self._pending = self._pool.submit(self.whole.update, view)
        else:
            self.whole.update(view)
        _write_out(self.fd_out, self.view, self.fill, self.pos)
        self.pos += self.fill
        self.fill = 0
        self._current ^= 1 if self._pool is not None else 0


def check_object(store: ObjectStore, entry: TreeEntry) -> None:
    """Verify that the whole-file blob of ``entry`` is intact and holds the bytes the tree lists
    (before it is linked or cloned rather than copied)."""
    wrong_size = store.size(entry.oid) != entry.size
    if not store.verify(entry.oid):
        raise store.corrupt(entry.oid, quarantined=True)
    if wrong_size:
        raise lie(entry.path, entry.file_id, entry.oid)


def blame(store: ObjectStore, chunks: Sequence[tuple[str, int]], entry: TreeEntry) -> CorruptObjectError:
    """The error for a file whose chunks did not rebuild it: the first corrupt chunk (each is
    re-hashed; the corrupt ones are quarantined), or else the description that lies."""
    for oid in dict.fromkeys(oid for oid, _ in chunks):
        if not store.verify(oid):
            return store.corrupt(oid, quarantined=True)
    return lie(entry.path, entry.file_id, entry.oid)


def _copy_range(fd_in: int, fd_out: int, size: int, dst: int) -> int:
    """Copy ``size`` bytes from the start of ``fd_in`` to offset ``dst`` of ``fd_out``."""
    done = 0
    try:
        while done < size:
            n = os.copy_file_range(fd_in, fd_out, min(size - done, _STEP), done, dst + done)
            if n == 0:
                return done
            done += n
        return done
    except OSError as exc:
        if exc.errno not in _NO_COPY_RANGE:
            raise
    while done < size:  # filesystems without copy_file_range: plain reads and writes
        data = os.pread(fd_in, min(size - done, 8 << 20), done)
        if not data:
            break
        write_all_at(fd_out, data, dst + done)
        done += len(data)
    return done
