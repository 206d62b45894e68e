"""Byte movers for checkout: kernel copies (copy_file_range), reflinks (FICLONE) and hashed
copies, from stored objects into an open destination file."""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Sequence

from modelkeep.errors import CorruptObjectError
from modelkeep.storage.durable import write_all, write_all_at
from modelkeep.storage.hashing import Hasher
from modelkeep.storage.objects import ObjectStore

FICLONE = 0x40049409  # _IOW(0x94, 9, int): share the source's extents (btrfs, xfs, bcachefs)
_NO_REFLINK = {errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS}
_NO_COPY_RANGE = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP}
_STEP = 1 << 30


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
    """Write the chunks, in order, into the empty file ``fd_out`` with in-kernel copies
    (copy_file_range); returns the bytes written. An object shorter than its size is corrupt.

    (Copying a large file's chunks from two threads at once was measured no faster here: the
    copy is bound by page-cache allocation, not by one core.)"""
    plan, pos = [], 0
    for oid, size in chunks:
        plan.append((oid, size, pos))
        pos += size
    _copy_group(store, plan, fd_out)
    return pos


def _copy_group(store: ObjectStore, group: list[tuple[str, int, int]], fd_out: int) -> None:
    for oid, size, dst in group:
        fd_in = os.open(store.object_path(oid), os.O_RDONLY)
        try:
            copied = _copy_range(fd_in, fd_out, size, dst)
        finally:
            os.close(fd_in)
        if copied != size:
            raise CorruptObjectError(
                f"object {oid} holds {copied} bytes, expected {size}", hint="run 'modelkeep fsck'", oid=oid
            )


def copy_chunks_verified(
    store: ObjectStore, chunks: Sequence[tuple[str, int]], fd_out: int, file_id: str
) -> int:
    """Like copy_chunks, but every chunk and the whole file are re-hashed on the way."""
    whole = Hasher(store.workers)
    for oid, _size in chunks:
        for block in store.iter_blocks(oid):
            whole.update(block)
            write_all(fd_out, block)
    if whole.hexdigest() != file_id:
        raise CorruptObjectError(
            f"the chunks of file {file_id} do not rebuild it",
            hint="run 'modelkeep fsck'",
            oid=file_id,
        )
    return whole.size


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
