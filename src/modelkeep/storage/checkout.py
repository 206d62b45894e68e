"""checkout: restore a tree into a folder, byte for byte, skipping files already in place.

Files are written to a temporary name beside their target and renamed over it, so a reader
never sees a half-restored file; files are restored in parallel. A file already present with
the same size and content id is left alone (the stat cache avoids re-hashing it). Files in
the destination that the tree does not list are left alone too. Link modes (``docs/storage.md``):
``copy`` (buffered or in-kernel copies), ``reflink`` (FICLONE, shares extents; errors where the
filesystem cannot), ``hardlink`` (whole-file blobs only; the file is the read-only object itself,
chunked files are copied; only when asked: root can edit it in place, which edits the store)
and ``auto`` (reflink where supported, else copy: the default).

Verification is on by default: every file's bytes are hashed as they are written and must give
the file id the tree lists before the file is renamed into place (``copier``); a linked or
cloned object is re-hashed first. A lie or a corrupt object is ``object_corrupt`` and leaves
nothing under the real name; a corrupt object is quarantined. Only verified files are recorded
in the stat cache as written, so it never vouches for bytes nobody checked.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from modelkeep.errors import InvalidInputError, PathNotFoundError, StorageError
from modelkeep.storage.copier import check_object, copy_chunks, copy_chunks_verified, reflink
from modelkeep.storage.durable import remove_stale_tmp, storage_errors, unlink_quietly
from modelkeep.storage.hashing import Progress, hash_file
from modelkeep.storage.manifest import read_manifest
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.paths import Destination
from modelkeep.storage.statcache import StatCache
from modelkeep.storage.tree import TreeEntry, read_tree
from modelkeep.storage.verify import lie

if TYPE_CHECKING:  # partial checkouts only: loaded when asked for (start-up of predict)
    from modelkeep.storage.tensors import TensorSelection

LinkMode = Literal["copy", "reflink", "hardlink", "auto"]
LINK_MODES = ("copy", "reflink", "hardlink", "auto")
INLINE_FILES, INLINE_BYTES = 16, 4 << 20  # a checkout this small runs without threads
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


@dataclass
class CheckoutStats:
    """What a checkout did: files written, files already in place, bytes written, and the
    files written partially (only some tensors), which cannot be verified as whole files."""

    files_written: int = 0
    files_skipped: int = 0
    bytes_written: int = 0
    unverified: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the fields in order."""
        return asdict(self)


def select_entries(entries: Sequence[TreeEntry], patterns: Sequence[str] | None) -> list[TreeEntry]:
    """The entries matching any glob (``*`` crosses folders; a folder name selects its
    contents). PathNotFoundError when a pattern matches nothing."""
    if patterns is None:
        return list(entries)
    chosen: list[TreeEntry] = []
    used: set[str] = set()
    for e in entries:
        hits = [p for p in patterns if _matches(e.path, p)]
        if hits:
            chosen.append(e)
            used.update(hits)
    _all_used(patterns, used, "file in the tree", "list the version's files and adjust the pattern")
    return chosen


def _all_used(patterns: Sequence[str], used: set[str], what: str, hint: str) -> None:
    """PathNotFoundError naming the patterns that matched nothing."""
    unused = [p for p in patterns if p not in used]
    if unused:
        raise PathNotFoundError(
            f"no {what} matches {', '.join(map(repr, unused))}", hint=hint, patterns=unused
        )


def _matches(path: str, pattern: str) -> bool:
    folder = pattern.rstrip("/")
    return fnmatch.fnmatchcase(path, pattern) or (bool(folder) and path.startswith(folder + "/"))


def checkout(
    store: ObjectStore,
    tree_id: str,
    dest: Path,
    *,
    link: LinkMode = "auto",
    patterns: list[str] | None = None,
    progress: Progress | None = None,
    stat_cache: StatCache | None = None,
    verify: bool = True,
    tensor_patterns: list[str] | None = None,
    root: Path | None = None,
    protected: Sequence[Path] = (),
) -> CheckoutStats:
    """Restore tree ``tree_id`` (or the files matching ``patterns``) into ``dest``.

    ``tensor_patterns`` (globs over tensor names) restores only the matching tensors of each
    ``.safetensors`` file, as a valid smaller safetensors file read from only the chunks that
    hold them; such files are always rewritten, and one with no matching tensor is not written;
    each chunk they read is verified, but not the file as a whole (``CheckoutStats.unverified``).
    ``verify`` (the default) hashes every file as it is written (see the module docstring);
    ``verify=False`` still catches objects of the wrong size. Every object needed is checked to
    be present before anything is written.

    Nothing is written outside ``dest``, into a ``.git`` or ``.modelkeep`` folder, through a
    symlink, or into ``protected`` folders (UnsafePathError; see ``storage/paths.py``). With a
    ``root``, ``dest`` must lie below it and no folder between them may be a symlink either.
    """
    if link not in LINK_MODES:
        raise InvalidInputError(f"unknown link mode {link!r}; use one of {', '.join(LINK_MODES)}")
    entries = select_entries(read_tree(store, tree_id), patterns)
    with storage_errors(dest):
        destination = Destination(Path(dest), root=root, protected=protected)
    with destination:
        jobs = [_Job(e, destination.target(e.path), _chunks_of(store, e)) for e in entries]
        if tensor_patterns is not None:
            jobs = _select_tensors(store, jobs, tensor_patterns)
        needed = {oid for job in jobs for oid in job.needed()}
        missing = sorted(needed - store.has_many(needed))
        if missing:
            raise store.not_found(missing[0])
        if patterns is not None or tensor_patterns is not None:
            _limit_shard_indexes(store, jobs)
        cache = stat_cache if stat_cache is not None else store.stat_cache
        restorer = _Restorer(store, link, verify, cache, sum(job.size for job in jobs), progress)
        restorer.names = {os.fspath(job.target) for job in jobs}
        restorer.destination = destination
        _restore_all(restorer, jobs, store.workers)
    if cache is not None:
        cache.save()
    return restorer.stats


class _Cancelled(BaseException):
    """Raised in a writer thread when the checkout was cancelled; its temporary file goes."""


class _UntilCancelled(list[tuple[str, int]]):
    """A file's chunks that stop being handed out once ``cancelled`` is set, so a writer
    thread leaves a large file within one chunk of Ctrl-C instead of finishing it."""

    def __init__(self, chunks: list[tuple[str, int]], cancelled: threading.Event) -> None:
        super().__init__(chunks)
        self._cancelled = cancelled

    def __iter__(self) -> Iterator[tuple[str, int]]:
        for chunk in super().__iter__():
            if self._cancelled.is_set():
                raise _Cancelled
            yield chunk


@dataclass
class _Job:
    """One file to restore: its entry, target path, chunks, and tensor selection if partial."""

    entry: TreeEntry
    target: Path
    chunks: list[tuple[str, int]]
    selection: TensorSelection | None = None
    content: bytes | None = None  # written instead of the entry's (a limited shard index)

    @property
    def size(self) -> int:
        if self.content is not None:
            return len(self.content)
        return self.selection.size if self.selection is not None else self.entry.size

    @property
    def partial(self) -> bool:
        """True when the file written is not the one the tree lists."""
        return self.selection is not None or self.content is not None

    def needed(self) -> set[str]:
        if self.selection is None:
            return {oid for oid, _ in self.chunks}
        from modelkeep.storage.tensors import chunks_for_ranges

        return chunks_for_ranges(self.chunks, self.selection.ranges)


def _select_tensors(store: ObjectStore, jobs: list[_Job], patterns: list[str]) -> list[_Job]:
    from modelkeep.storage.chunkers import is_safetensors
    from modelkeep.storage.tensors import select_tensors

    kept: list[_Job] = []
    used: set[str] = set()
    for job in jobs:
        if not is_safetensors(job.entry.path):
            kept.append(job)
            continue
        sel, hits = select_tensors(store, job.entry.path, job.chunks, job.entry.size, patterns)
        used |= hits
        if sel is None or sel.ranges:
            kept.append(_Job(job.entry, job.target, job.chunks, sel))
    _all_used(patterns, used, "tensor", "list the tensor names of the version's safetensors files")
    return kept


def _limit_shard_indexes(store: ObjectStore, jobs: list[_Job]) -> None:
    """Make each sharded checkpoint index of a partial checkout name only what is written."""
    from modelkeep.storage.chunkers import is_safetensors
    from modelkeep.storage.shard_index import is_shard_index, limit_index, written_shard
    from modelkeep.storage.tensors import read_range

    shards = {job.entry.path: written_shard(store, job.chunks, job.entry.size, job.selection)
              for job in jobs if is_safetensors(job.entry.path)}
    for job in jobs:
        if is_shard_index(job.entry.path, job.entry.size):
            raw = read_range(store, job.chunks, 0, job.entry.size)
            job.content = limit_index(raw, job.entry.path, shards)


def _restore_all(restorer: _Restorer, jobs: list[_Job], workers: int) -> None:
    """Restore the jobs in parallel; a few small files (a model loaded for ``predict``, an
    example input) are restored in this thread: a pool's start and hand-offs cost more than
    they save, most of all on a busy machine."""
    if len(jobs) <= 1 or workers <= 1 or (len(jobs) <= INLINE_FILES
                                          and sum(job.size for job in jobs) < INLINE_BYTES):
        for job in jobs:
            restorer.restore(job)
        return
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(workers)
    try:
        list(pool.map(restorer.restore, jobs))
    except BaseException:  # Ctrl-C included: writers stop at their next chunk, remove their tmp
        restorer.cancelled.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _chunks_of(store: ObjectStore, e: TreeEntry) -> list[tuple[str, int]]:
    if e.kind == "blob":
        return [(e.oid, e.size)]
    m = read_manifest(store, e.oid)
    if m.file_id != e.file_id or m.size != e.size:
        raise lie(e.path, e.file_id, e.oid)
    return list(m.chunks)


class _Restorer:
    """Restores single files and keeps the shared statistics (thread-safe)."""

    def __init__(
        self,
        store: ObjectStore,
        link: LinkMode,
        verify: bool,
        cache: StatCache | None,
        total: int,
        progress: Progress | None,
    ) -> None:
        self.store, self.link, self.verify, self.cache = store, link, verify, cache
        self.stats = CheckoutStats()
        self._total, self._done, self._progress = total, 0, progress
        self._lock = threading.Lock()
        self._can_reflink = link in ("auto", "reflink")
        self._swept: set[Path] = set()
        self.names: set[str] = set()  # every target path of this checkout
        self.cancelled = threading.Event()  # set when the checkout stops early (Ctrl-C, error)
        self.destination: Destination  # where every file is written, through folder descriptors

    def restore(self, job: _Job) -> None:
        """Write one file unless it is already in place."""
        e, target = job.entry, job.target
        with storage_errors(target):
            if not job.partial and self._in_place(e, target):
                self._count(e.size, written=False)
                return
            with self.destination.parent_of(e.path) as folder:
                self._sweep(target.parent)
                tmp = f".{target.name}.{os.urandom(6).hex()}.mk-tmp"
                try:
                    if job.content is not None:
                        fd = os.open(tmp, _CREATE, 0o600, dir_fd=folder)
                        with os.fdopen(fd, "wb") as f:
                            f.write(job.content)
                        os.chmod(tmp, e.mode, dir_fd=folder)
                    elif job.selection is not None:
                        self._write_selection(job, folder, tmp)
                    else:
                        self._write(e, folder, tmp, job.chunks)
                    os.replace(tmp, target.name, src_dir_fd=folder, dst_dir_fd=folder)
                except BaseException:
                    unlink_quietly(tmp, dir_fd=folder)
                    raise
                written = os.stat(target.name, dir_fd=folder, follow_symlinks=False)
            if self.cache is not None and not job.partial and self.verify:
                self.cache.record(str(target), written, e.file_id, oid=e.oid, kind=e.kind, written=True)
            elif self.cache is not None:
                self.cache.forget(str(target))  # unverified, or not the file the tree lists
        if job.partial:
            with self._lock:
                self.stats.unverified.append(e.path)
        self._count(job.size, written=True)

    def _sweep(self, folder: Path) -> None:
        """Remove what killed checkouts left in ``folder`` (once per folder we write into)."""
        with self._lock:
            if folder in self._swept:
                return
            self._swept.add(folder)
        remove_stale_tmp(folder, self.names)

    def _write_selection(self, job: _Job, folder: int, tmp: str) -> None:
        from modelkeep.storage.tensors import write_selection

        assert job.selection is not None
        fd = os.open(tmp, _CREATE, 0o600, dir_fd=folder)
        try:
            write_selection(self.store, job.chunks, job.selection, fd, verify=self.verify)
            os.fchmod(fd, job.entry.mode)
        finally:
            os.close(fd)

    def _in_place(self, e: TreeEntry, target: Path) -> bool:
        try:
            st = target.lstat()
        except FileNotFoundError:
            return False
        if stat.S_ISDIR(st.st_mode):
            raise InvalidInputError(
                f"cannot restore {e.path}: a folder is in the way at {target}", path=str(target)
            )
        if not stat.S_ISREG(st.st_mode) or st.st_size != e.size:
            return False
        hit = self.cache.lookup(str(target), st) if self.cache is not None else None
        if self.link == "hardlink" and e.kind == "blob":
            obj = self.store.object_path(e.oid).stat()
            linked = (st.st_ino, st.st_dev) == (obj.st_ino, obj.st_dev)
            if linked and self.verify and (hit is None or hit.file_id != e.file_id):
                check_object(self.store, e)  # the file is the object: an edit in place damaged it
                if self.cache is not None:  # verified: its stat vouches until it changes
                    self.cache.record(str(target), st, e.file_id, oid=e.oid, written=True)
            return linked
        if hit is not None:
            file_id = hit.file_id
        else:
            started = time.time_ns()
            file_id = hash_file(target, threads=self.store.workers)
            if self.cache is not None:
                self.cache.record(str(target), st, file_id, oid=e.oid, kind=e.kind, hashed_at_ns=started)
        if file_id != e.file_id:
            return False
        if (st.st_mode & 0o7777) != e.mode:
            self.destination.chmod(e.path, e.mode)
        return True

    def _write(self, e: TreeEntry, folder: int, tmp: str, chunks: list[tuple[str, int]]) -> None:
        if self.link == "hardlink" and e.kind == "blob":
            if self.verify:
                check_object(self.store, e)
            try:
                os.link(self.store.object_path(e.oid), tmp, dst_dir_fd=folder)
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                    raise
                raise StorageError(
                    f"cannot hard-link {e.path} from the store: {exc.strerror}",
                    hint="the destination must be on the store's filesystem; use link mode 'copy'",
                    path=e.path,
                ) from exc
            return
        fd = os.open(tmp, _CREATE, 0o600, dir_fd=folder)
        try:
            if not self._try_reflink(e, fd):
                chunks = _UntilCancelled(chunks, self.cancelled)
                if self.verify:
                    copy_chunks_verified(self.store, chunks, fd, e)
                else:
                    copy_chunks(self.store, chunks, fd)
            os.fchmod(fd, e.mode)
        finally:
            os.close(fd)

    def _try_reflink(self, e: TreeEntry, fd: int) -> bool:
        if not self._can_reflink or e.kind != "blob":
            return False
        if reflink(self.store, e.oid, fd):
            if self.verify:  # the clone shares the object's extents: hash them once
                check_object(self.store, e)
            return True
        if self.link == "reflink":
            raise StorageError(
                "this filesystem cannot reflink (copy-on-write clones)",
                hint="use link mode 'copy' or 'auto'",
            )
        self._can_reflink = False  # auto: stop trying after the first refusal
        return False

    def _count(self, size: int, *, written: bool) -> None:
        with self._lock:
            if written:
                self.stats.files_written += 1
                self.stats.bytes_written += size
            else:
                self.stats.files_skipped += 1
            self._done += size
            if self._progress is not None:
                self._progress(self._done, self._total)
