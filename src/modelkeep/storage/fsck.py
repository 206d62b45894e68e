"""fsck: re-hash stored objects, and check that manifests and trees tell the truth.

Three passes, each object's bytes read once (a chunk shared by several files is read once per
file): manifests and trees are found by their first bytes and read first; each manifest's
chunks are then hashed in file order, which verifies every chunk against its id and the
rebuilt file against the manifest's file id; last, every object not yet read is re-hashed.
A tree entry must agree with the blob (size) or manifest (file id, size) it points at.

An object whose bytes no longer match its id is quarantined by the read that finds it (see
``objects``), so a later pull or register writes it again. A manifest or tree that lies about
its pieces is reported as *inconsistent* and left where it is: its bytes match its id, so no
remote can hold a better copy.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from modelkeep.errors import CorruptObjectError, InvalidInputError, ObjectNotFoundError
from modelkeep.storage.hashing import Progress
from modelkeep.storage.manifest import FileManifest
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.tree import TreeEntry, decode_tree
from modelkeep.storage.verify import entry_problem, rebuilt_id

_MANIFEST_HEAD = b'{"chunker":"'  # canonical JSON, sorted keys: how every manifest begins
_TREE_HEAD = b'{"entries":['


@dataclass
class FsckReport:
    """Objects checked; corrupt ones (quarantined), missing ones, and manifests or trees whose
    claims their pieces do not bear out (inconsistent)."""

    checked: int
    corrupt: list[str]
    missing: list[str] = field(default_factory=list)
    inconsistent: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is corrupt, missing or inconsistent."""
        return not self.corrupt and not self.missing and not self.inconsistent


class _Check:
    """The state of one fsck run (thread-safe where workers share it)."""

    def __init__(self, store: ObjectStore, todo: list[str], progress: Progress | None) -> None:
        self.store, self.todo, self.progress = store, todo, progress
        self.wanted = set(todo)
        self.result: dict[str, bool | None] = {}  # oid -> intact (None: missing)
        self.manifests: dict[str, FileManifest] = {}
        self.trees: dict[str, list[TreeEntry]] = {}
        self.inconsistent: set[str] = set()
        self._lock = threading.Lock()

    def done(self, oid: str, ok: bool | None) -> None:
        with self._lock:
            if oid not in self.wanted or oid in self.result:
                return
            self.result[oid] = ok
            if self.progress is not None:
                self.progress(len(self.result), len(self.todo))

    def verify(self, oid: str) -> None:
        if oid in self.result:
            return
        try:
            self.done(oid, self.store.verify(oid))
        except ObjectNotFoundError:
            self.done(oid, None)

    def read_structure(self, oid: str) -> None:
        """Read ``oid`` as a manifest or tree if its first bytes say it may be one."""
        head = _head(self.store, oid)
        if not (head.startswith(_MANIFEST_HEAD) or head.startswith(_TREE_HEAD)):
            return
        try:
            data = self.store.get_bytes(oid)
        except CorruptObjectError:
            self.done(oid, False)
            return
        except ObjectNotFoundError:
            self.done(oid, None)
            return
        self.done(oid, True)
        try:
            if head.startswith(_MANIFEST_HEAD):
                self.manifests[oid] = FileManifest.decode(data, oid)
            else:
                self.trees[oid] = decode_tree(data, oid)
        except InvalidInputError:
            pass  # a file that merely starts like one: an ordinary blob, already verified

    def check_manifest(self, oid: str) -> None:
        """Hash the manifest's chunks in order: each chunk and the whole file at once."""
        m = self.manifests[oid]
        try:
            file_id, sizes_ok = rebuilt_id(self.store, m.chunks)
        except CorruptObjectError as exc:
            self.done(str(exc.fields.get("oid")), False)
            return
        except ObjectNotFoundError:
            return  # a missing chunk is reported by whoever needs it
        for chunk in m.chunk_ids:
            self.done(chunk, True)
        if file_id != m.file_id or not sizes_ok:
            self.inconsistent.add(oid)

    def check_tree(self, oid: str) -> None:
        for e in self.trees[oid]:
            if entry_problem(self.store, e, self.manifests.get(e.oid)):
                self.inconsistent.add(oid)
                return


def fsck_objects(
    store: ObjectStore, progress: Progress | None = None, *, oids: Iterable[str] | None = None
) -> FsckReport:
    """Check every object (or only ``oids``, e.g. ``reachable_objects`` of one version)."""
    todo = sorted(set(oids) if oids is not None else store.iter_ids())
    check = _Check(store, todo, progress)
    with ThreadPoolExecutor(store.workers) as pool:
        list(pool.map(check.read_structure, todo))
        list(pool.map(check.check_manifest, sorted(check.manifests)))
        list(pool.map(check.check_tree, sorted(check.trees)))
        list(pool.map(check.verify, todo))
    corrupt = sorted(oid for oid, ok in check.result.items() if ok is False)
    missing = sorted(oid for oid, ok in check.result.items() if ok is None)
    return FsckReport(len(todo) - len(missing), corrupt, missing, sorted(check.inconsistent))


def _head(store: ObjectStore, oid: str) -> bytes:
    """The first bytes of object ``oid`` (empty if it is missing)."""
    try:
        fd = os.open(store.object_path(oid), os.O_RDONLY)
    except FileNotFoundError:
        return b""
    try:
        return os.pread(fd, len(_MANIFEST_HEAD), 0)
    finally:
        os.close(fd)
