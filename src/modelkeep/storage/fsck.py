"""fsck: re-hash stored objects and report the ones whose content no longer matches their id."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from modelkeep.errors import ObjectNotFoundError
from modelkeep.storage.hashing import Progress
from modelkeep.storage.objects import ObjectStore


@dataclass
class FsckReport:
    """How many objects were checked, which are corrupt, and which were expected but missing."""

    checked: int
    corrupt: list[str]
    missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is corrupt or missing."""
        return not self.corrupt and not self.missing


def fsck_objects(
    store: ObjectStore, progress: Progress | None = None, *, oids: Iterable[str] | None = None
) -> FsckReport:
    """Re-hash every object (or only ``oids``, e.g. ``reachable_objects`` of one version)."""
    todo = sorted(set(oids) if oids is not None else store.iter_ids())
    corrupt: list[str] = []
    missing: list[str] = []

    def check(oid: str) -> tuple[str, bool | None]:
        try:
            return oid, store.verify(oid)
        except ObjectNotFoundError:
            return oid, None

    with ThreadPoolExecutor(store.workers) as pool:
        for done, (oid, ok) in enumerate(pool.map(check, todo), start=1):
            if ok is None:
                missing.append(oid)
            elif not ok:
                corrupt.append(oid)
            if progress is not None:
                progress(done, len(todo))
    return FsckReport(len(todo) - len(missing), corrupt, missing)
