"""What a new version changes relative to its predecessor, as the SemVer rules see it.

The rules themselves (which change needs which bump) live in ``semver.required_bump``; this
module reads two metadata snapshots and says which kinds of change happened.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelkeep.registry.semver import Bump, ChangeSet


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


def _signature_reasons(old: Mapping[str, Any], new: Mapping[str, Any]
                       ) -> tuple[list[str], list[str]]:
    """(breaking, added) signature changes in words, e.g. "output 'probs' removed".

    A predecessor with no signature at all had an unknown one, not an empty one: a signature
    declared or inferred for the first time is no change (it would otherwise read as every
    input added, a breaking change)."""
    breaking: list[str] = []
    added: list[str] = []
    if not (_specs(old, "inputs") or _specs(old, "outputs")):
        return breaking, added
    for side in ("input", "output"):
        before, after = _specs(old, side + "s"), _specs(new, side + "s")
        for name, spec in before.items():
            if name not in after:
                breaking.append(f"{side} '{name}' removed")
            elif after[name] != spec:
                breaking.append(f"{side} '{name}' changed ({_spec_text(spec)} -> "
                                f"{_spec_text(after[name])})")
        for name in after.keys() - before.keys():
            # callers do not send a new input, so it breaks them; a new output is an addition
            (breaking if side == "input" else added).append(f"{side} '{name}' added")
    return sorted(breaking), sorted(added)


def _spec_text(spec: tuple[Any, Any]) -> str:
    dtype, shape = spec
    return f"{dtype}{list(shape) if shape is not None else ''}"


def _fingerprint_reasons(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """An architecture fingerprint that changed (both versions must have one to compare)."""
    before = _get(old, "technical", "fingerprint", "value")
    after = _get(new, "technical", "fingerprint", "value")
    if not before or not after or before == after:
        return []
    source = _get(new, "technical", "fingerprint", "inferred_from") or "declared"
    return [f"architecture fingerprint changed ({source}: {before[:12]} -> {after[:12]})"]


def detect_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> ChangeSet:
    """The kinds of change from snapshot ``old`` to snapshot ``new``, each with its reasons.

    Inputs: a removed or retyped input breaks callers, and so does a new input (callers do not
    send it). Outputs: a removed or retyped output breaks callers; a new output is an addition.
    Architecture: the code snapshot, commit or framework changed, or the architecture
    fingerprint (docs/running.md): a new architecture is MINOR (docs/versioning.md); when it
    also changes the signature, the signature makes it MAJOR. Data: the set of datasets
    (role, tree) changed.
    """
    breaking, added = _signature_reasons(old, new)
    code_keys = {("components", "code", "snapshot"): "code snapshot changed",
                 ("components", "code", "commit"): "code commit changed",
                 ("technical", "framework", "name"): "framework changed"}
    architecture = [why for k, why in code_keys.items() if _get(old, *k) != _get(new, *k)]
    architecture += _fingerprint_reasons(old, new)
    data = ["training data changed"] if _dataset_trees(old) != _dataset_trees(new) else []
    params = _get(old, "components", "hyperparameters") != _get(new, "components", "hyperparameters")
    weights = (_get(old, "components", "artifacts", "tree")
               != _get(new, "components", "artifacts", "tree"))
    reasons: list[tuple[Bump, str]] = [("major", r) for r in breaking]
    reasons += [("minor", r) for r in added + architecture + data]
    reasons += [("patch", r) for r, happened in (("hyperparameters changed", params),
                                                 ("artifacts changed", weights)) if happened]
    return ChangeSet(
        signature_breaking=bool(breaking),
        signature_added=bool(added),
        architecture_changed=bool(architecture),
        data_changed=bool(data),
        hyperparameters_changed=params,
        weights_changed=weights,
        reasons=tuple(reasons),
    )
