"""Durability primitives: fsync of files and folders, syncfs, and disk-full translation.

Rules the store follows (see docs/storage.md): an object's bytes are durable *before* its final
name appears, and its name is durable before a caller is told the write succeeded. Single
writes fsync the file, rename it into place and fsync the folder; batches write every staged
file, call ``syncfs`` once, rename them all, and call ``syncfs`` once more.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from modelkeep._lazy import lazy_pattern
from modelkeep.errors import DiskFullError, InvalidInputError, PathNotFoundError, StorageError

_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}
READ_ONLY_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}
# A write() of megabytes into the page cache makes Linux allocate large folios for it; on a VM
# whose free memory goes back to the host that made writing 3-5x slower than the same bytes
# written in small pieces (docs/benchmarks.md, "register as users run it"). 128 KiB costs
# 8,192 calls a GiB, a few milliseconds.
WRITE_PIECE = 128 << 10
_SYNC_FILE_RANGE_WRITE = 2
STALE_TMP_AGE = 60.0  # a checkout temporary file of a file being restored, untouched this long
ABANDONED_TMP_AGE = 3600.0  # any checkout temporary file untouched this long


# a checkout's temporary file name (compiled on first use: only a sweep needs it)
_tmp_re = lazy_pattern(r"\.(.+)\.[0-9a-f]{12}\.mk-tmp")


class _LibcSync(NamedTuple):
    syncfs: Any
    sync_file_range: Any


@functools.cache
def _libc() -> _LibcSync | None:
    """libc's ``syncfs`` and ``sync_file_range``, or None (not Linux: os.sync() instead).
    Looked up on first use: ctypes costs ~2 ms to import, and a small write never needs it."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        sync_file_range = libc.sync_file_range
        sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
        return _LibcSync(libc.syncfs, sync_file_range)
    except (OSError, AttributeError):
        return None


def start_writeback(fd: int) -> None:
    """Ask the kernel to start writing a file's dirty pages now, without waiting (Linux
    sync_file_range). The final flush then finds most data already on disk, so writing
    overlaps with hashing instead of following it. Not a durability guarantee by itself."""
    libc = _libc()
    if libc is not None:
        libc.sync_file_range(fd, 0, 0, _SYNC_FILE_RANGE_WRITE)


def fsync_dir(path: Path) -> None:
    """Make a folder's entries (created or renamed names) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_path(path: Path) -> None:
    """Make a file's data durable (fsync through a fresh read-only descriptor)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def syncfs(path: Path) -> None:
    """Flush every dirty page and inode of the filesystem holding ``path`` (one system call)."""
    libc = _libc()
    if libc is None:
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.syncfs(fd) != 0:
            import ctypes  # already loaded by _libc()

            err = ctypes.get_errno()
            raise_os_error(OSError(err, os.strerror(err), str(path)), path)
    finally:
        os.close(fd)


def raise_os_error(exc: OSError, path: Path | str) -> None:
    """Re-raise an OSError from the store as a modelkeep error (disk full gets its own)."""
    if exc.errno in _DISK_FULL:
        raise DiskFullError(
            f"no space left on the device holding {path}",
            hint="free some space (e.g. 'modelkeep gc') and try again",
            path=str(path),
        ) from exc
    hint = ("the keep is read-only here: commands that write need a writable keep"
            if exc.errno in READ_ONLY_ERRNOS else "check the disk and the permissions of the keep")
    raise StorageError(f"cannot write {path}: {exc.strerror or exc}", hint=hint,
                       path=str(path)) from exc


@contextlib.contextmanager
def storage_errors(path: Path | str) -> Iterator[None]:
    """Translate OSErrors raised inside the block (disk full, I/O error) into modelkeep errors."""
    try:
        yield
    except OSError as exc:
        raise_os_error(exc, path)


@contextlib.contextmanager
def source_errors(path: Path | str) -> Iterator[None]:
    """Translate errors opening or reading a user's file into modelkeep errors."""
    try:
        yield
    except FileNotFoundError as exc:
        raise PathNotFoundError(f"{path} does not exist", path=str(path)) from exc
    except (PermissionError, IsADirectoryError) as exc:
        raise InvalidInputError(
            f"cannot read {path}: {exc.strerror}", hint="check the file's permissions", path=str(path)
        ) from exc
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror or exc}", path=str(path)) from exc


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """Write every byte of ``data`` to ``fd`` (os.write may write less than asked), in
    pieces of at most ``WRITE_PIECE`` bytes."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view[:WRITE_PIECE]) :]


def write_all_at(fd: int, data: bytes | memoryview, offset: int) -> None:
    """Write every byte of ``data`` at ``offset`` of ``fd`` (positioned, thread-safe), in
    pieces of at most ``WRITE_PIECE`` bytes."""
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view[:WRITE_PIECE], offset)
        view, offset = view[n:], offset + n


def unlink_quietly(path: Path | str, *, dir_fd: int | None = None) -> None:
    """Remove a file if it exists (``path`` relative to folder ``dir_fd`` if given); used to
    clean up after a failed write (on a read-only filesystem there is nothing to clean: the
    failed write created nothing)."""
    try:
        os.unlink(path, dir_fd=dir_fd)
    except FileNotFoundError:
        pass
    except OSError as exc:
        if exc.errno != errno.EROFS:
            raise


def remove_stale_tmp(folder: Path, targets: set[str]) -> int:
    """Remove the temporary files (``.NAME.<12 hex>.mk-tmp``) that checkouts killed midway left
    in ``folder``: those of a file in ``targets`` untouched for ``STALE_TMP_AGE`` seconds, and
    any untouched for ``ABANDONED_TMP_AGE``. A live checkout's temporary file is younger: its
    mtime moves with every write. Returns how many were removed."""
    now = time.time()
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        m = _tmp_re().fullmatch(entry.name)
        if m is None:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        mine = os.path.join(folder, m.group(1)) in targets
        if now - st.st_mtime > (STALE_TMP_AGE if mine else ABANDONED_TMP_AGE):
            unlink_quietly(entry.path)
            removed += 1
    return removed


def write_file_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` so readers see the old or the new content, never a mix."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        with storage_errors(path):
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                write_all(fd, data)
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
            if durable:
                fsync_dir(path.parent)
    except BaseException:
        unlink_quietly(tmp)
        raise
