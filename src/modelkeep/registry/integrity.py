"""Keep-level integrity: object damage mapped to the versions it affects, and repair from a
remote (``fsck --repair``: corrupt objects were quarantined by the check, so they are fetched
again like missing ones)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field, replace
from typing import Any

from modelkeep.db.database import Database
from modelkeep.errors import ModelkeepError
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.remotes import Remote


@dataclass(frozen=True)
class KeepCheck:
    """What ``fsck`` found: objects checked, corrupt (now quarantined), missing, inconsistent
    (manifests or trees that lie about their pieces), versions affected, what a repair fetched
    again from a remote, and objects only a lost database could explain."""

    checked: int
    corrupt: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    affected: list[str] = field(default_factory=list)
    inconsistent: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    # objects beside a database that records nothing: a lost or wrong database (lost_database.py)
    unrecorded: int = 0

    @property
    def ok(self) -> bool:
        return not (self.corrupt or self.missing or self.inconsistent or self.unrecorded)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "corrupt": self.corrupt,
                "missing": self.missing, "inconsistent": self.inconsistent,
                "affected": self.affected, "repaired": self.repaired,
                "unrecorded": self.unrecorded}


def check_keep(db: Database, store: ObjectStore,
               progress: Callable[[int, int], None] | None = None,
               pinned: Iterable[str] = ()) -> KeepCheck:
    """Re-hash every object (quarantining corrupt ones), check manifests and trees against
    their pieces, then find each version whose tree needs a damaged or missing object; also
    count the objects that only a lost database could explain (``pinned``: the trees of ``add``
    pointers, which explain theirs)."""
    from modelkeep.registry.lost_database import records_nothing, unexplained_objects
    from modelkeep.storage.fsck import fsck_objects
    from modelkeep.storage.gc import expand

    report = fsck_objects(store, progress=progress)
    unrecorded = 0
    if records_nothing(db):
        try:
            explained = expand(store, pinned)[0]
        except ModelkeepError:  # a damaged pin tree: the objects checked above already say so
            explained = set(pinned)
        unrecorded = unexplained_objects(db, store, explained)
    return _map_damage(db, store, KeepCheck(checked=report.checked,
                                            corrupt=sorted(report.corrupt),
                                            inconsistent=report.inconsistent,
                                            unrecorded=unrecorded))


def repair_keep(db: Database, store: ObjectStore, remote: Remote,
                progress: Callable[[int, int], None] | None = None,
                pinned: Iterable[str] = ()) -> KeepCheck:
    """``check_keep``, then fetch every corrupt (quarantined) and missing object the remote has;
    what is still missing or inconsistent afterwards stays in the report."""
    from modelkeep.storage.transfer import pull_objects

    result = check_keep(db, store, progress=progress, pinned=pinned)
    tried: set[str] = set()
    while wanted := sorted((set(result.corrupt) | set(result.missing)) - tried):
        tried.update(wanted)  # a repaired tree or manifest can reveal pieces missing below it
        absent = remote.missing(wanted, store.workers)
        available = [oid for oid in wanted if oid not in absent]
        if available:
            pull_objects(store, remote, [], objects=available)
        repaired = result.repaired + [oid for oid in available if store.has(oid)]
        fixed = set(repaired)
        result = _map_damage(db, store, replace(
            result, repaired=repaired, corrupt=[oid for oid in result.corrupt if oid not in fixed]))
    return replace(result, repaired=sorted(result.repaired))


def _map_damage(db: Database, store: ObjectStore, result: KeepCheck) -> KeepCheck:
    """``result`` with its ``missing`` objects and ``affected`` versions found from the
    versions' trees."""
    from modelkeep.registry.retention import pruned_version_ids

    damaged = set(result.corrupt) | set(result.inconsistent)
    missing: set[str] = set()
    affected: list[str] = []
    rows = db.query("SELECT v.id, m.name, v.version, v.tree_id FROM versions v "
                    "JOIN models m ON m.id = v.model_id ORDER BY m.name, v.id")
    pruned = pruned_version_ids(db)  # gc removed their artifacts on purpose (retention)
    for row in (r for r in rows if r["id"] not in pruned):
        needed = _needed_objects(store, row["tree_id"])
        gone = {oid for oid in needed if not store.has(oid)}
        missing |= gone
        if gone or needed & damaged:
            affected.append(f"{row['name']}@{row['version']}")
    # a quarantined object is listed once, as corrupt
    return replace(result, missing=sorted(missing - set(result.corrupt)), affected=affected)


def _needed_objects(store: ObjectStore, tree_id: str) -> set[str]:
    """Every object one version needs, as far as it can be known: a tree or manifest that is
    missing or unreadable is itself listed (and its children, unknowable, are not)."""
    from modelkeep.storage.manifest import read_manifest
    from modelkeep.storage.tree import read_tree

    needed = {tree_id}
    try:
        entries = read_tree(store, tree_id)
    except ModelkeepError:
        return needed
    for entry in entries:
        needed.add(entry.oid)
        if entry.kind == "manifest":
            # the manifest itself is listed: a missing one shows as missing
            with suppress(ModelkeepError):
                needed.update(read_manifest(store, entry.oid).chunk_ids)
    return needed
