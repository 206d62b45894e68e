"""Keep-level integrity: object damage mapped to the versions it affects."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from modelkeep.db.database import Database
from modelkeep.errors import ModelkeepError
from modelkeep.storage.objects import ObjectStore


@dataclass
class KeepCheck:
    """What ``fsck`` found: objects checked, corrupt or missing ones, and versions affected."""

    checked: int
    corrupt: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    affected: list[str] = field(default_factory=list)
    # objects beside a database that records nothing: a lost or wrong database (lost_database.py)
    unrecorded: int = 0

    @property
    def ok(self) -> bool:
        return not (self.corrupt or self.missing or self.unrecorded)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "corrupt": self.corrupt,
                "missing": self.missing, "affected": self.affected,
                "unrecorded": self.unrecorded}


def check_keep(db: Database, store: ObjectStore,
               progress: Callable[[int, int], None] | None = None,
               pinned: Iterable[str] = ()) -> KeepCheck:
    """Re-hash every object, then find each version whose tree needs a damaged or missing one;
    also count the objects that only a lost database could explain (``pinned``: the trees of
    ``add`` pointers, which explain theirs)."""
    from modelkeep.registry.lost_database import records_nothing, unexplained_objects
    from modelkeep.registry.retention import pruned_version_ids
    from modelkeep.storage.fsck import fsck_objects
    from modelkeep.storage.gc import expand

    report = fsck_objects(store, progress=progress)
    result = KeepCheck(checked=report.checked, corrupt=sorted(report.corrupt))
    if records_nothing(db):
        try:
            explained = expand(store, pinned)[0]
        except ModelkeepError:  # a damaged pin tree: the objects checked above already say so
            explained = set(pinned)
        result.unrecorded = unexplained_objects(db, store, explained)
    damaged = set(report.corrupt)
    missing: set[str] = set()
    rows = db.query("SELECT v.id, m.name, v.version, v.tree_id FROM versions v "
                    "JOIN models m ON m.id = v.model_id ORDER BY m.name, v.id")
    pruned = pruned_version_ids(db)  # gc removed their artifacts on purpose (retention)
    for row in (r for r in rows if r["id"] not in pruned):
        needed = _needed_objects(store, row["tree_id"])
        gone = {oid for oid in needed if not store.has(oid)}
        missing |= gone
        if gone or needed & damaged:
            result.affected.append(f"{row['name']}@{row['version']}")
    result.missing = sorted(missing)
    return result


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
