"""What gc must keep, collected in one place, and gc itself (retention, then mark and sweep).

Roots are: the artifacts tree of every version the retention policy keeps, every object id
named in those versions' metadata (dataset trees, code snapshots), every object id found in
any text column of any other table (tracking: dataset trees, run artifacts, code diffs, and
whatever later tables store, with no change here), and the trees of the kept pins
(``modelkeep add``). A new kind of reference only needs to be stored in a table to be safe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelkeep.db.database import Database
from modelkeep.registry.lost_database import refuse_if_lost
from modelkeep.registry.retention import (
    RetentionPlan,
    RetentionPolicy,
    lock_retention,
    mark_versions,
    plan_retention,
    unpruned_versions,
)
from modelkeep.registry.versions import VersionInfo
from modelkeep.storage.gc import SweepReport, expand, sweep
from modelkeep.storage.hashing import Progress
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.pins import Pin, list_pins, split_pins, unpin

# versions are handled by the retention policy; these hold no object ids
SKIP_TABLES = {"versions", "models", "alias_moves", "alembic_version"}
_OBJECT_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")
_TEXT_TYPES = ("char", "text", "clob", "json")


@dataclass
class Roots:
    """Trees that must stay whole, and other object ids (of any kind) that must stay."""

    trees: set[str] = field(default_factory=set)
    objects: set[str] = field(default_factory=set)


def text_columns(db: Database) -> dict[str, list[str]]:
    """table -> its text columns, for every table of the metadata database."""
    if db.dialect == "sqlite":
        tables = [r["name"] for r in db.query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        out: dict[str, list[str]] = {}
        for t in tables:
            cols = db.query(f'PRAGMA table_info("{t}")')
            out[t] = [c["name"] for c in cols if _is_text(str(c["type"]).lower())]
        return out
    rows = db.query(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema()")
    out = {}
    for r in rows:
        if r["data_type"] in ("text", "character varying", "character", "json", "jsonb"):
            out.setdefault(r["table_name"], []).append(r["column_name"])
    return out


def _is_text(sqlite_type: str) -> bool:
    return not sqlite_type or any(k in sqlite_type for k in _TEXT_TYPES)


def referenced_ids(db: Database, skip: set[str] = SKIP_TABLES) -> set[str]:
    """Every object id stored in any text column of any table not in ``skip``."""
    found: set[str] = set()
    for table, columns in text_columns(db).items():
        if table in skip:
            continue
        for col in columns:
            for row in db.query(f'SELECT DISTINCT "{col}" AS v FROM "{table}" WHERE "{col}" IS NOT NULL'):
                found.update(_OBJECT_ID.findall(str(row["v"])))
    return found


def collect_roots(db: Database, kept: list[VersionInfo], pins: list[Pin]) -> Roots:
    """The roots for gc given the versions and pins that are kept (see the module docstring)."""
    roots = Roots(trees={v.tree_id for v in kept} | {p.tree_id for p in pins})
    kept_ids = {v.id for v in kept}
    for row in db.query("SELECT id, metadata_json FROM versions"):
        if row["id"] in kept_ids:
            roots.objects.update(_OBJECT_ID.findall(row["metadata_json"] or ""))
    roots.objects |= referenced_ids(db)
    return roots


@dataclass(frozen=True)
class GcResult:
    """What gc decided and did: versions pruned, pins released, objects swept."""

    plan: RetentionPlan
    pins_released: list[str]
    sweep: SweepReport

    def to_dict(self) -> dict[str, Any]:
        return {"dry_run": self.sweep.dry_run, "versions": self.plan.to_dict(),
                "pins_released": self.pins_released, "objects": len(self.sweep.deleted),
                "bytes": self.sweep.bytes, "reachable": self.sweep.reachable,
                "young": self.sweep.young, "incomplete": self.sweep.incomplete,
                "tmp_removed": self.sweep.tmp_removed}


def collect_garbage(db: Database, store: ObjectStore, pins_dir: Path, policy: RetentionPolicy, *,
                    author: str, dry_run: bool = False, force: bool = False,
                    progress: Progress | None = None) -> GcResult:
    """Apply the retention policy, then delete every object no root needs (older than grace).

    Order for crash safety: decide and record the pruned versions (one transaction holding the
    retention lock, which alias moves take too), then, under the exclusive store lock that
    registrations and pulls hold until their versions are recorded, compute the root set from
    what the database says *now*, release pins, and delete objects last. ``force`` lets gc run
    on a database that records nothing while the store holds objects (see ``refuse_if_lost``).
    """
    with db.write():
        lock_retention(db)
        plan = plan_retention(db, policy)
        if not dry_run:
            mark_versions(db, plan.prune, "pruned", author, "outside the gc retention policy")
    kept_pins, released = split_pins(list_pins(pins_dir), policy.keep_stable, policy.keep_all)
    incomplete: list[str] = []

    def needed() -> set[str]:
        kept = unpruned_versions(db, exclude=[v.id for v in plan.prune])
        roots = collect_roots(db, kept, kept_pins)
        found, missing = expand(store, roots.trees, roots.objects)
        incomplete.extend(missing)
        if not (dry_run or force):
            refuse_if_lost(db, store, found)
        if not dry_run:
            for p in released:
                unpin(p)
        return found

    report = sweep(store, needed, grace=policy.grace, dry_run=dry_run, progress=progress)
    report.incomplete = sorted(set(incomplete))
    return GcResult(plan, [f"{p.pointer} ({p.tree_id[:12]})" for p in released], report)
