"""What a new version changes relative to its predecessor, as the SemVer rules see it.

The rules themselves (which change needs which bump) live in ``semver.required_bump``; this
module reads two metadata snapshots and says which kinds of change happened.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelkeep.registry.semver import ChangeSet


def _specs(meta: Mapping[str, Any], side: str) -> dict[str, tuple[Any, Any]]:
    signature = ((meta.get("technical") or {}).get("signature") or {}).get(side) or []
    return {s["name"]: (s.get("dtype"), s.get("shape")) for s in signature}


def _get(meta: Mapping[str, Any], *path: str) -> Any:
    node: Any = meta
    for key in path:
        node = (node or {}).get(key)
    return node


def _dataset_trees(meta: Mapping[str, Any]) -> set[tuple[str, str]]:
    datasets = _get(meta, "components", "datasets") or []
    return {(d.get("role"), d.get("tree")) for d in datasets}


def detect_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> ChangeSet:
    """The kinds of change from snapshot ``old`` to snapshot ``new``.

    Inputs: a removed or retyped input breaks callers, and so does a new input (callers do not
    send it). Outputs: a removed or retyped output breaks callers; a new output is an addition.
    Architecture: the code snapshot, commit or framework changed. Data: the set of datasets
    (role, tree) changed.
    """
    old_in, new_in = _specs(old, "inputs"), _specs(new, "inputs")
    old_out, new_out = _specs(old, "outputs"), _specs(new, "outputs")
    breaking = (
        old_in != new_in
        or any(name not in new_out or new_out[name] != spec for name, spec in old_out.items())
    )
    code_keys = (("components", "code", "snapshot"), ("components", "code", "commit"),
                 ("technical", "framework", "name"))
    return ChangeSet(
        signature_breaking=breaking,
        signature_added=bool(set(new_out) - set(old_out)),
        architecture_changed=any(_get(old, *k) != _get(new, *k) for k in code_keys),
        data_changed=_dataset_trees(old) != _dataset_trees(new),
        hyperparameters_changed=_get(old, "components", "hyperparameters")
        != _get(new, "components", "hyperparameters"),
        weights_changed=_get(old, "components", "artifacts", "tree")
        != _get(new, "components", "artifacts", "tree"),
    )
