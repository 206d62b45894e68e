"""What changed between two versions: metadata, hyperparameters, metrics, and files."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from modelkeep.registry.snapshot import metrics_of, params_of

# identity fields always differ between two versions; they say nothing about behaviour
_IGNORED = ("identity.id", "identity.version", "identity.created", "components.artifacts.tree")


@dataclass(frozen=True)
class FieldChange:
    """A key whose value differs; ``old`` or ``new`` is None when it is absent on that side."""

    key: str
    old: Any
    new: Any

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class VersionDiff:
    """The full comparison of version ``a`` to version ``b``."""

    a: str
    b: str
    params: list[FieldChange] = field(default_factory=list)
    metrics: list[FieldChange] = field(default_factory=list)
    metadata: list[FieldChange] = field(default_factory=list)
    files_added: list[str] = field(default_factory=list)
    files_removed: list[str] = field(default_factory=list)
    files_changed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.params or self.metrics or self.metadata or self.files_added
                    or self.files_removed or self.files_changed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "params": [c.to_dict() for c in self.params],
            "metrics": [c.to_dict() for c in self.metrics],
            "metadata": [c.to_dict() for c in self.metadata],
            "files": {"added": self.files_added, "removed": self.files_removed,
                      "changed": self.files_changed},
        }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys; lists stay values (compared whole)."""
    if not isinstance(data, dict):
        return {prefix: data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.update(flatten(value, path))
        else:
            out[path] = value
    return out


def compare_maps(old: dict[str, Any], new: dict[str, Any]) -> list[FieldChange]:
    """Changed, added and removed keys between two flat maps, sorted by key."""
    changes = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if not _same(a, b):
            changes.append(FieldChange(key, a, b))
    return changes


def diff_snapshots(a_ref: str, b_ref: str, a_meta: dict[str, Any], b_meta: dict[str, Any],
                   a_metrics: dict[str, float], b_metrics: dict[str, float]) -> VersionDiff:
    """Compare two metadata snapshots; metrics include records appended after registration."""
    params = compare_maps(params_of(a_meta), params_of(b_meta))
    metrics = compare_maps({**metrics_of(a_meta), **a_metrics}, {**metrics_of(b_meta), **b_metrics})
    skip = {c.key for c in params} | {c.key for c in metrics}
    flat_a, flat_b = flatten(a_meta), flatten(b_meta)
    metadata = [
        c for c in compare_maps(flat_a, flat_b)
        if c.key not in _IGNORED and not c.key.startswith(("components.hyperparameters",
                                                            "performance.metrics"))
        and c.key not in skip
    ]
    return VersionDiff(a_ref, b_ref, params, metrics, metadata)
