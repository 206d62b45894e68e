"""Garbage collection of the object store: mark what the roots need, sweep the rest.

The roots come from above (``registry/roots.py`` decides which versions, datasets, runs and pins
are kept); this module only expands them into object ids and deletes the others. Safety rules:

* an object younger than the grace period is never deleted, so an ``add`` or ``pull`` running at
  the same time (whose objects no version references yet) is never robbed;
* a root tree or manifest that is *corrupt* stops gc before anything is deleted (its children
  cannot be known); one that is *missing* is reported as incomplete and expands to nothing;
* deleting is the last step and is idempotent: a gc killed midway deleted only garbage, and
  running it again finishes the job. Staged files left in ``tmp/`` by crashed writers go too.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from modelkeep.errors import InvalidInputError, ObjectNotFoundError
from modelkeep.storage.hashing import Progress, is_object_id
from modelkeep.storage.locks import StoreLock
from modelkeep.storage.manifest import FileManifest
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.tree import decode_tree

MAX_STRUCTURED = 64 << 20  # trees and manifests are JSON far smaller than this


@dataclass
class SweepReport:
    """What a sweep deleted (or would delete, in a dry run) and what it kept."""

    deleted: list[str] = field(default_factory=list)
    bytes: int = 0
    reachable: int = 0
    young: int = 0
    tmp_removed: int = 0
    incomplete: list[str] = field(default_factory=list)
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["objects"] = len(self.deleted)
        return data


def expand(
    store: ObjectStore, trees: Iterable[str], objects: Iterable[str] = ()
) -> tuple[set[str], list[str]]:
    """(every object the roots need, roots that are missing locally).

    ``trees`` must be trees; ``objects`` may be anything (a tree, a manifest or a plain blob, as
    the tracking tables hold), and ids not in the store are ignored.
    """
    needed: set[str] = set()
    missing: list[str] = []
    manifests: set[str] = set()
    for tree_id in dict.fromkeys(trees):
        if tree_id in needed:
            continue
        needed.add(tree_id)
        try:
            entries = decode_tree(store.get_bytes(tree_id), tree_id)
        except ObjectNotFoundError:
            missing.append(tree_id)
            continue
        for e in entries:
            needed.add(e.oid)
            if e.kind == "manifest":
                manifests.add(e.oid)
    for oid in dict.fromkeys(objects):
        if oid in needed or not is_object_id(oid) or not store.has(oid):
            continue
        needed.add(oid)
        kind, children = _sniff(store, oid)
        if kind == "tree":
            sub, gone = expand(store, [oid])
            needed |= sub
            missing += gone
        elif kind == "manifest":
            needed.update(children)
    for oid in manifests:
        try:
            needed.update(FileManifest.decode(store.get_bytes(oid), oid).chunk_ids)
        except ObjectNotFoundError:
            missing.append(oid)
    return needed, missing


def _sniff(store: ObjectStore, oid: str) -> tuple[str, list[str]]:
    """("tree" | "manifest" | "blob", chunk ids) for a root whose kind is not known."""
    path = store.object_path(oid)
    try:
        with open(path, "rb") as f:
            first = f.read(1)
        if first != b"{" or os.path.getsize(path) > MAX_STRUCTURED:
            return "blob", []
    except FileNotFoundError:
        return "blob", []
    data = store.get_bytes(oid)
    try:
        decode_tree(data, oid)
        return "tree", []
    except InvalidInputError:
        pass
    try:
        return "manifest", FileManifest.decode(data, oid).chunk_ids
    except InvalidInputError:
        return "blob", []


def sweep(
    store: ObjectStore,
    needed: set[str] | Callable[[], set[str]],
    *,
    grace: float,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> SweepReport:
    """Delete every object not in ``needed`` and older than ``grace`` seconds.

    ``needed`` may be a function: it is called once the store lock is held, so the root set it
    computes cannot miss what a writer holding the lock (a registration, a pull) records before
    letting it go. It may raise to call the sweep off before anything is deleted.
    """
    report = SweepReport(dry_run=dry_run)
    with StoreLock(store.root, exclusive=not dry_run):  # no writer reuses an object meanwhile
        chosen = needed() if callable(needed) else needed
        _sweep_locked(store, chosen, report, grace, dry_run, progress)
    return report


def _sweep_locked(store: ObjectStore, needed: set[str], report: SweepReport, grace: float,
                  dry_run: bool, progress: Progress | None) -> None:
    cutoff = time.time() - max(0.0, grace)
    doomed: list[tuple[str, int]] = []
    for oid in store.iter_ids():
        if oid in needed:
            report.reachable += 1
            continue
        try:
            st = store.object_path(oid).stat()
        except FileNotFoundError:
            continue
        if st.st_mtime > cutoff:  # mtime: when the object was written (or freshened)
            report.young += 1
            continue
        doomed.append((oid, st.st_size))
    doomed.sort()
    for done, (oid, size) in enumerate(doomed, start=1):
        if not dry_run:
            store.delete(oid)
        report.deleted.append(oid)
        report.bytes += size
        if progress is not None:
            progress(done, len(doomed))
    if not dry_run:
        report.tmp_removed = store.clean_tmp(older_than=max(0.0, grace))
