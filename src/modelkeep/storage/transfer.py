"""push and pull: move the objects a set of trees needs between the local store and a remote.

Only objects the other side lacks travel, in parallel. Push sends in three waves, chunks and
file blobs first, then file manifests, then trees, each wave finished before the next starts:
a remote never holds a tree or manifest whose pieces it lacks, so an interrupted push leaves a
remote that is consistent, and re-running it sends only what is still missing.

Verification: push reads every local object through its hash (a damaged local object is refused
before it is published) and checks the size of what arrived (object stores) or stages objects in
the remote's ``tmp/`` and flushes them once per group before renaming them into place (local and
NFS remotes: durable before visible); pull writes every object through the
object store, which re-hashes it: a remote object that does not match its id is named, refused
and not stored, and everything else is still fetched. Pulled objects are committed in groups, so
an interrupted pull keeps what it already fetched. Then every file pulled whole is checked
against what its tree claims (``verify.verify_pulled``): a manifest listing other chunks under a
genuine file id, or a tree entry of the wrong size, is refused and not kept.
"""

from __future__ import annotations

import os
import struct
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from modelkeep.errors import CorruptObjectError, InvalidInputError, RemoteError
from modelkeep.storage.batch import WriteBatch
from modelkeep.storage.checkout import select_entries
from modelkeep.storage.chunkers import is_safetensors
from modelkeep.storage.durable import fsync_dir, syncfs, unlink_quietly
from modelkeep.storage.hashing import Progress
from modelkeep.storage.manifest import read_manifest
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.remotes import SMALL_OBJECT, Remote
from modelkeep.storage.tensors import chunks_for_ranges, read_range, select_tensors
from modelkeep.storage.tree import read_tree
from modelkeep.storage.verify import verify_pulled

GROUP_OBJECTS = 64  # pulled objects committed together (one flush per group)
GROUP_BYTES = 256 << 20
Wave = dict[str, int | None]  # object id -> size when known


@dataclass
class TransferStats:
    """What a transfer did: objects and bytes moved, objects the other side already had."""

    objects: int = 0
    bytes: int = 0
    present: int = 0
    corrupt: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def waves(
    store: ObjectStore,
    tree_ids: Iterable[str],
    patterns: Sequence[str] | None = None,
    ensure: Callable[[Wave], None] | None = None,
    tensor_patterns: Sequence[str] | None = None,
) -> list[Wave]:
    """The objects the trees need, leaves first: [chunks and blobs, manifests, trees].

    ``patterns`` limits each tree to the matching files (checkout's globs); ``tensor_patterns``
    limits each chunked safetensors file to the chunks holding the matching tensors (plus its
    header). ``ensure(wave)`` is called before a wave is read, so pull can fetch the trees
    before reading them.
    """
    trees: Wave = dict.fromkeys(tree_ids)
    if ensure is not None:
        ensure(trees)
    entries = [e for t in trees for e in select_entries(read_tree(store, t), patterns)]
    manifests: Wave = {e.oid: None for e in entries if e.kind == "manifest"}
    if ensure is not None:
        ensure(manifests)
    leaves: Wave = {e.oid: e.size for e in entries if e.kind == "blob"}
    matched: set[str] = set()
    for e in entries:
        if e.kind != "manifest":
            continue
        chunks: Sequence[tuple[str, int]] = read_manifest(store, e.oid).chunks
        if tensor_patterns and is_safetensors(e.path):
            chunks = _tensor_chunks(store, e, chunks, tensor_patterns, ensure, matched)
        leaves.update(chunks)
    if tensor_patterns:
        unused = [p for p in tensor_patterns if p not in matched]
        if unused:
            cut = any(e.kind == "manifest" and is_safetensors(e.path) for e in entries)
            whole = any(e.kind == "blob" and is_safetensors(e.path) for e in entries)
            why = ("" if cut else " (small safetensors files are stored whole: pull without --tensor)"
                   if whole else " (the chosen files hold no safetensors file)")
            raise InvalidInputError(
                f"no tensor matches '{unused[0]}' in the chosen safetensors files{why}",
                hint="tensor names are globs, e.g. 'encoder.layer.*'", pattern=unused[0])
    if ensure is not None:
        ensure(leaves)
    return [leaves, manifests, trees]


def _tensor_chunks(store: ObjectStore, entry: Any, chunks: Sequence[tuple[str, int]],
                   patterns: Sequence[str], ensure: Callable[[Wave], None] | None,
                   matched: set[str]) -> list[tuple[str, int]]:
    """The chunks of one safetensors file that its header and the matching tensors need; the
    header's chunks are fetched first (through ``ensure``) to learn where the tensors lie."""
    sizes = dict(chunks)

    def fetch(start: int, end: int) -> None:
        if ensure is not None:
            ensure({oid: sizes[oid] for oid in chunks_for_ranges(chunks, [(start, end)])})

    fetch(0, min(8, entry.size))
    (header_len,) = struct.unpack("<Q", read_range(store, chunks, 0, 8))
    fetch(0, min(entry.size, 8 + header_len))
    selection, hits = select_tensors(store, entry.path, chunks, entry.size, patterns)
    matched |= hits
    if selection is None:  # every tensor matches: the whole file
        return list(chunks)
    needed = chunks_for_ranges(chunks, [(0, min(entry.size, 8 + header_len)),
                                        *selection.ranges])
    return [(oid, size) for oid, size in chunks if oid in needed]


class _Meter:
    """Thread-safe totals feeding a (done, total) byte progress callback."""

    def __init__(self, stats: TransferStats, progress: Progress | None) -> None:
        self.stats, self.total, self._progress = stats, 0, progress
        self._lock = threading.Lock()

    def add(self, objects: int, nbytes: int) -> None:
        with self._lock:
            self.stats.objects += objects
            self.stats.bytes += nbytes
            if self._progress is not None:
                self._progress(self.stats.bytes, self.total)

    def refused(self, oid: str) -> None:
        with self._lock:
            self.stats.corrupt.append(oid)


# -- push ---------------------------------------------------------------------------------------


def push_objects(
    store: ObjectStore,
    remote: Remote,
    tree_ids: Iterable[str],
    *,
    objects: Iterable[str] = (),
    progress: Progress | None = None,
    workers: int | None = None,
) -> TransferStats:
    """Send the objects of ``tree_ids`` (and the loose ``objects``) that the remote lacks."""
    plan = waves(store, tree_ids)
    plan[0].update(dict.fromkeys(objects))
    every = [oid for wave in plan for oid in wave]
    remote.check(create=True)
    remote.clean_tmp()  # uploads of pushes killed more than an hour ago
    missing = remote.missing(every, workers or store.workers)
    for oid in sorted(missing):
        if not store.has(oid):
            raise store.not_found(oid)
    stats = TransferStats(present=len(set(every)) - len(missing))
    meter = _Meter(stats, progress)
    sizes = {oid: store.size(oid) for oid in missing}
    meter.total = sum(sizes.values())
    threads = workers or store.workers
    for wave in plan:
        todo = sorted((o for o in wave if o in missing), key=lambda o: -sizes[o])
        if remote.is_local:
            for group in _groups({o: sizes[o] for o in todo}):
                _push_group_local(store, remote, [oid for oid, _ in group], sizes, meter, threads)
            continue
        with ThreadPoolExecutor(threads) as pool:
            for oid in pool.map(lambda o: _upload(store, remote, o, sizes[o]), todo):
                meter.add(1, sizes[oid])
    return stats


def _upload(store: ObjectStore, remote: Remote, oid: str, size: int) -> str:
    """Send one object to an object store (a PUT is atomic there) and check what arrived."""
    key = remote.object_key(oid)
    if size <= SMALL_OBJECT:
        data = store.get_bytes(oid)  # verified against its id
        with remote.errors("upload to"):
            remote.fs.pipe_file(key, data)
    else:
        if not store.verify(oid):  # quarantined by the read that found it
            raise store.corrupt(oid, quarantined=True)
        with remote.errors("upload to"):
            remote.fs.put_file(str(store.object_path(oid)), key)
    with remote.errors("check an upload on"):
        arrived = remote.fs.info(key).get("size")
    if arrived != size:
        raise RemoteError(
            f"object {oid} arrived on remote '{remote.name}' with {arrived} bytes, not {size}",
            hint="push again",
            remote=remote.name,
            oid=oid,
        )
    return oid


def _push_group_local(store: ObjectStore, remote: Remote, oids: list[str], sizes: dict[str, int],
                      meter: _Meter, threads: int) -> None:
    """Stage a group of objects in the remote's tmp/ (in parallel, each copied through its hash),
    flush the remote's filesystem once, then rename them into place: durable before visible."""
    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(_stage_local, store, remote, oid) for oid in oids]
    staged = [(oid, f.result()) for oid, f in zip(oids, futures, strict=True) if f.exception() is None]
    try:
        for f in futures:
            if f.exception() is not None:
                raise f.exception()  # type: ignore[misc]
        with remote.errors("upload to"):
            syncfs(Path(remote.key("tmp")))
            folders = {os.path.dirname(remote.object_key(oid)) for oid in oids}
            for folder in folders:
                os.makedirs(folder, exist_ok=True)
            for oid, tmp in staged:
                os.replace(tmp, remote.object_key(oid))
                meter.add(1, sizes[oid])
            for folder in [*folders, remote.key("objects")]:
                fsync_dir(Path(folder))
    finally:
        for _, tmp in staged:
            unlink_quietly(tmp)  # only what was not renamed is still there


def _stage_local(store: ObjectStore, remote: Remote, oid: str) -> str:
    """Copy object ``oid`` through its hash into the remote's tmp/; returns the staged path."""
    tmp = remote.key(f"tmp/{oid[:16]}.{os.urandom(6).hex()}.part")
    with remote.errors("upload to"):
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        try:
            try:
                for block in store.iter_blocks(oid):  # CorruptObjectError after a bad last block
                    view = block
                    while view:
                        view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
        except BaseException:
            unlink_quietly(tmp)
            raise
    return tmp


# -- pull ---------------------------------------------------------------------------------------


def pull_objects(
    store: ObjectStore,
    remote: Remote,
    tree_ids: Iterable[str],
    *,
    patterns: Sequence[str] | None = None,
    objects: Iterable[str] = (),
    progress: Progress | None = None,
    workers: int | None = None,
    tensor_patterns: Sequence[str] | None = None,
) -> TransferStats:
    """Fetch what ``tree_ids`` (only the files matching ``patterns``, and of safetensors files
    only the tensors matching ``tensor_patterns``) need and the store lacks.

    CorruptObjectError at the end names every remote object refused because it did not match
    its id; all the others were stored. CorruptObjectError too when a file pulled whole does not
    rebuild the file id its tree lists (the lying manifest or tree is not kept).
    """
    stats = TransferStats()
    meter = _Meter(stats, progress)
    threads = workers or store.workers
    checked = False
    fetched: set[str] = set()

    def ensure(wave: Wave) -> None:
        nonlocal checked
        todo = {oid: size for oid, size in wave.items() if not store.has(oid)}
        fetched.update(todo)
        stats.present += len(wave) - len(todo)
        if not todo:
            return
        if not checked:
            remote.check()
            checked = True
        meter.total += sum(s or 0 for s in todo.values())
        groups = _groups(todo)
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda g: _fetch_group(store, remote, g, meter), groups))
        if stats.corrupt:  # trees and manifests first: nothing below a refused one is read
            first = sorted(stats.corrupt)[0]
            raise CorruptObjectError(
                f"{len(stats.corrupt)} object(s) on remote '{remote.name}' do not match their id "
                f"and were refused (first: {first}); the other objects were stored",
                hint="repair the remote by pushing from a keep that has good copies",
                oid=first,
                objects=sorted(stats.corrupt),
                remote=remote.name,
            )

    loose: Wave = dict.fromkeys(objects)
    if loose:
        ensure(loose)
    tree_list = list(dict.fromkeys(tree_ids))
    if tree_list:
        waves(store, tree_list, patterns, ensure, tensor_patterns)
        whole = {t: [e for e in select_entries(read_tree(store, t), patterns)
                     if not (tensor_patterns and is_safetensors(e.path))] for t in tree_list}
        verify_pulled(store, whole, fetched, ensure)
    return stats


def _groups(todo: Wave) -> list[list[tuple[str, int | None]]]:
    groups: list[list[tuple[str, int | None]]] = []
    current: list[tuple[str, int | None]] = []
    weight = 0
    for oid, size in sorted(todo.items(), key=lambda kv: -(kv[1] or 0)):
        if current and (len(current) >= GROUP_OBJECTS or weight + (size or 0) > GROUP_BYTES):
            groups.append(current)
            current, weight = [], 0
        current.append((oid, size))
        weight += size or 0
    if current:
        groups.append(current)
    return groups


def _fetch_group(
    store: ObjectStore, remote: Remote, group: list[tuple[str, int | None]], meter: _Meter
) -> None:
    with store.batch() as batch:
        for oid, size in group:
            try:
                got = _download(store, batch, remote, oid, size)
            except CorruptObjectError:
                meter.refused(oid)
                continue
            meter.add(1, got)


def _download(store: ObjectStore, batch: WriteBatch, remote: Remote, oid: str, size: int | None) -> int:
    """Stage one remote object in ``batch`` (its id is checked); returns its size."""
    key = remote.object_key(oid)
    if remote.is_local:
        if not os.path.isfile(key):
            raise remote.not_found(oid)
        batch.put_file(Path(key), expected=oid)
        return os.path.getsize(key)
    if size is not None and size > SMALL_OBJECT:
        tmp = store.tmp_dir / f"{os.urandom(8).hex()}.download"
        try:
            with remote.errors("download from"):
                try:
                    remote.fs.get_file(key, str(tmp))
                except FileNotFoundError:
                    raise remote.not_found(oid) from None
            batch.put_file(tmp, expected=oid)
            return tmp.stat().st_size
        finally:
            unlink_quietly(tmp)
    with remote.errors("download from"):
        try:
            data = remote.fs.cat_file(key)
        except FileNotFoundError:
            raise remote.not_found(oid) from None
    batch.put_bytes(data, expected=oid)
    return len(data)
