"""What a new version keeps from its predecessor: the metadata a user declares once.

Description, tags, team, project, framework, dependencies, hardware, the input/output signature,
the loader and the deployment configuration describe the model rather than one training of it, so a new
version starts from its predecessor's values: what the new registration does not give again is
kept (a field given, even empty, replaces it). A signature modelkeep inferred from the
predecessor's files is not inherited: the new files are read again (``loaders.inference``).
Params, metrics, datasets, code and artifacts belong to one version and are never inherited.
The registry records which fields came from which version, so ``show`` can say so
(docs/metadata.md, "What a new version inherits").
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

INHERITED: tuple[str, ...] = (
    "identity.team",
    "identity.project",
    "identity.description",
    "identity.tags",
    "technical.framework",
    "technical.dependencies",
    "technical.hardware",
    "technical.signature",
    "technical.loader",
    "deployment.config",
    "deployment.environment",
    "deployment.dependencies_lock",
)
"""Dotted paths of the metadata fields a new version inherits."""


def declared_paths(meta: Any) -> frozenset[str]:
    """The inherited fields that metadata ``meta`` (a ``ModelMetadata`` or None) sets itself.

    A field counts as given when the document names it, whatever its value; pydantic records
    that in ``model_fields_set``.
    """
    if meta is None:
        return frozenset()
    given = set()
    for path in INHERITED:
        node = meta
        for part in path.split("."):
            if part not in getattr(node, "model_fields_set", ()):
                break
            node = getattr(node, part)
        else:
            given.add(path)
    return frozenset(given)


@functools.cache
def _defaults() -> dict[str, Any]:
    from modelkeep.schema.blank import default_document

    return default_document()


def _get(data: Mapping[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        node = (node or {}).get(part)
    return node


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = json.loads(json.dumps(value))  # a copy: the snapshots share nothing


def inherit(previous: Mapping[str, Any] | None, snapshot: dict[str, Any],
            declared: frozenset[str]) -> list[str]:
    """Copy into ``snapshot`` each inherited field of ``previous`` that was not ``declared``
    and holds more than the default; return the paths copied, sorted."""
    if previous is None:
        return []
    taken = []
    for path in INHERITED:
        value = _get(previous, path)
        if path in declared or value is None or value == _get(_defaults(), path):
            continue
        if isinstance(value, dict) and value.get("source") == "inferred":
            continue  # read from that version's files: this version's own are read anew
        if _get(snapshot, path) != value:
            _set(snapshot, path, value)
        taken.append(path)
    return taken
