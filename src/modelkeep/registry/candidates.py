"""``bump``: the version a candidate folder would need, and why, without registering it.

The candidate goes through what ``register`` does up to the version row: its files are stored
(content-addressed objects; nothing references them, so ``gc`` removes them after its grace
period unless a registration uses them), its signature and fingerprint are inferred from the
stored, verified bytes, and it inherits its predecessor's declared metadata. Then the SemVer
rules (``changes.detect_changes``, ``semver.required_bump``) say which bump it needs and every
reason, and ``next_version`` which number ``register`` would give it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from modelkeep._metric import metric_float
from modelkeep.clock import now_iso
from modelkeep.db.database import Database
from modelkeep.errors import ModelNotFoundError, PathNotFoundError
from modelkeep.registry.refs import check_model_name
from modelkeep.registry.registration import infer_technical, param_value, store_candidate
from modelkeep.registry.semver import Bump, Version, next_version
from modelkeep.registry.snapshot import build_snapshot
from modelkeep.storage.objects import ObjectStore


@dataclass(frozen=True)
class BumpReport:
    """What registering a candidate would need: the bump, the number, every reason."""

    name: str
    previous: str | None  # the version compared with (None: the model's first version)
    required: Bump | None  # None for a first version
    next_version: str
    reasons: tuple[tuple[Bump, str], ...] = ()
    unchanged: bool = False  # same files and metadata as ``previous``: register makes none

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["reasons"] = [{"bump": b, "reason": r} for b, r in self.reasons]
        return data


def candidate_bump(db: Database, store: ObjectStore, name: str, path: Path, *, author: str,
                   metadata: Any = None, params: Mapping[str, Any] | None = None,
                   metrics: Mapping[str, Any] | None = None,
                   progress: Callable[[int, int], None] | None = None) -> BumpReport:
    """The bump ``path`` needs as the next version of ``name`` (see the module docstring)."""
    from modelkeep.registry.changes import detect_changes
    from modelkeep.registry.inheritance import declared_paths, inherit
    from modelkeep.registry.semver import required_bump
    from modelkeep.registry.versions import comparable_snapshot, list_versions, version_metadata

    check_model_name(name)
    if not Path(path).exists():
        raise PathNotFoundError(f"path '{path}' does not exist",
                                hint="give the candidate model file or folder", path=str(path))
    clean_params = {k: param_value(v) for k, v in (params or {}).items()}
    clean_metrics = {k: metric_float(k, v, from_text=True) for k, v in (metrics or {}).items()}
    try:
        existing = list_versions(db, name)
    except ModelNotFoundError:
        existing = []
    with store.recording():
        tree = store_candidate(store, Path(path), progress=progress)
        inferred = infer_technical(db, store, name, tree.tree_id, metadata, True)
    draft = build_snapshot(metadata, name=name, version="0.0.0", created=now_iso(),
                           author=author, tree_id=tree.tree_id, size=tree.size,
                           params=clean_params, metrics=clean_metrics, inferred=inferred)
    if not existing:
        return BumpReport(name, None, None, "1.0.0")
    previous = existing[-1]
    before = version_metadata(db, previous.id)
    inherit(before, draft, declared_paths(metadata))
    changes = detect_changes(before, draft)
    needed = required_bump(changes)
    number = next_version([Version.parse(v.version) for v in existing], needed)
    same = (previous.tree_id == tree.tree_id
            and comparable_snapshot(before) == comparable_snapshot(draft))
    return BumpReport(name, previous.version, needed, str(number), changes.reasons, same)

