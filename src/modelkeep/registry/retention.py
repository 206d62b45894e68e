"""Retention: which registered versions keep their artifacts in this keep when gc runs.

Kept: every version an alias points at now, the ``keep_stable`` newest stable releases of each
model (``[gc] keep_stable``, default 3), the newest version of each model whatever it is, and
every version registered within the grace period. ``keep_all`` keeps every version.

Versions are immutable and their metadata is never deleted. A version outside the policy is
*pruned*: gc appends a dated record (kind ``artifacts``, key ``pruned``) and may then delete
the objects only it needed. ``show`` lists that record; ``pull`` of the version fetches the
objects again and appends a ``restored`` record; fsck does not count a pruned version's
objects as missing. The record comes first, the deletion after: a gc killed in between leaves a
pruned version whose files are still here, never an unpruned version missing its files.

Deciding what to prune and recording it is one transaction holding the *retention lock*
(``lock_retention``), which alias moves and ``restored`` records take too: an alias is either
set before gc decides (so its version is kept) or after gc recorded the pruning (so the move is
refused: ``refuse_pruned``). No alias can land on a version in between.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from modelkeep.clock import now_iso, to_iso
from modelkeep.db.database import Database
from modelkeep.errors import VersionPrunedError
from modelkeep.registry.versions import VERSION_COLUMNS, VersionInfo

RECORD_KIND = "artifacts"
RETENTION_LOCK = "modelkeep.retention"


@dataclass(frozen=True)
class RetentionPolicy:
    """How many stable versions per model gc keeps, whether it keeps all, the grace period."""

    keep_stable: int = 3
    keep_all: bool = False
    grace: float = 3600.0


@dataclass
class RetentionPlan:
    """Versions whose artifacts stay, versions pruned now, versions pruned before."""

    kept: list[VersionInfo] = field(default_factory=list)
    prune: list[VersionInfo] = field(default_factory=list)
    pruned_before: list[VersionInfo] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"kept": [v.ref for v in self.kept], "prune": [v.ref for v in self.prune],
                "pruned_before": [v.ref for v in self.pruned_before]}


def all_versions(db: Database) -> list[VersionInfo]:
    """Every registered version of every model."""
    rows = db.query(f"SELECT {VERSION_COLUMNS} FROM versions v JOIN models m ON m.id = v.model_id")
    return [VersionInfo(**r) for r in rows]


def aliased_version_ids(db: Database) -> set[int]:
    """Ids of the versions some alias points at now."""
    rows = db.query(
        "SELECT version_id FROM alias_moves WHERE id IN "
        "(SELECT MAX(id) FROM alias_moves GROUP BY model_id, alias)"
    )
    return {r["version_id"] for r in rows if r["version_id"] is not None}


def pruned_version_ids(db: Database) -> set[int]:
    """Ids of the versions whose artifacts gc pruned and no pull has restored since."""
    rows = db.query(
        "SELECT version_id, value_json FROM version_records WHERE kind = :k AND id IN "
        "(SELECT MAX(id) FROM version_records WHERE kind = :k GROUP BY version_id)",
        {"k": RECORD_KIND},
    )
    return {r["version_id"] for r in rows if json.loads(r["value_json"]).get("state") == "pruned"}


def lock_retention(db: Database) -> None:
    """Serialise this write transaction with gc's retention decision (see the module docstring)."""
    db.lock_named(RETENTION_LOCK)


def is_pruned(db: Database, version_id: int) -> bool:
    """Whether gc pruned this version's artifacts and no pull has restored them since."""
    row = db.query_one(
        "SELECT value_json FROM version_records WHERE version_id = :v AND kind = :k "
        "ORDER BY id DESC LIMIT 1", {"v": version_id, "k": RECORD_KIND})
    return row is not None and json.loads(row["value_json"]).get("state") == "pruned"


def refuse_pruned(db: Database, version: VersionInfo, action: str) -> None:
    """Raise ``VersionPrunedError`` when ``version``'s artifacts are pruned (``action``: what
    was asked, for the message)."""
    if is_pruned(db, version.id):
        raise VersionPrunedError(
            f"cannot {action}: gc pruned the artifacts of {version.ref} from this keep",
            hint=f"run 'modelkeep pull {version.ref}' to fetch its files back from a remote, "
            "then try again",
            name=version.name, version=version.version)


def unpruned_versions(db: Database, exclude: Iterable[int] = ()) -> list[VersionInfo]:
    """Every version whose artifacts are meant to be here (not pruned), minus ``exclude``."""
    skip = pruned_version_ids(db) | set(exclude)
    return [v for v in all_versions(db) if v.id not in skip]


def plan_retention(db: Database, policy: RetentionPolicy, now: float | None = None
                   ) -> RetentionPlan:
    """Split the registered versions by the policy (nothing is changed)."""
    plan = RetentionPlan()
    pruned = pruned_version_ids(db)
    aliased = aliased_version_ids(db)
    young_after = to_iso(datetime.fromtimestamp((now or time.time()) - policy.grace, UTC))
    by_model: dict[str, list[VersionInfo]] = {}
    for v in all_versions(db):
        by_model.setdefault(v.name, []).append(v)
    for versions in by_model.values():
        ordered = sorted(versions, key=lambda v: v.semver.sort_key(), reverse=True)
        stable = [v for v in ordered if not v.semver.is_prerelease]
        chosen = {v.id for v in stable[: max(0, policy.keep_stable)]} | {ordered[0].id}
        for v in ordered:
            keep = (policy.keep_all or v.id in chosen or v.id in aliased
                    or v.created_at >= young_after)
            if v.id in pruned:  # no local artifacts until a pull restores them
                plan.pruned_before.append(v)
            elif keep:
                plan.kept.append(v)
            else:
                plan.prune.append(v)
    for group in (plan.kept, plan.prune, plan.pruned_before):
        group.sort(key=lambda v: (v.name, v.semver.sort_key()))
    return plan


def mark_versions(db: Database, versions: Iterable[VersionInfo], state: str, author: str,
                  reason: str) -> None:
    """Append an ``artifacts`` record (``pruned`` or ``restored``) to each version."""
    rows = [{"v": v.id, "kind": RECORD_KIND, "key": state, "at": now_iso(), "author": author,
             "value": json.dumps({"state": state, "reason": reason})} for v in versions]
    if not rows:
        return
    with db.write():
        lock_retention(db)
        for row in rows:
            db.execute(
                "INSERT INTO version_records (version_id, kind, key, value_json, created_at, "
                "author) VALUES (:v, :kind, :key, :value, :at, :author)", row)
