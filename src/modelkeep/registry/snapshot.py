"""The metadata snapshot stored with each version: the user's metadata plus what the registry knows.

The registry owns identity (name, number, creation time, id) and the artifacts tree; the user's
file supplies the rest. Command-line params and metrics are merged over the file's. Secrets
(a pipeline command's ``--api-key X``, URL passwords, secret-named params and deployment
variables) are masked before the snapshot is stored: ``redact.redact_metadata``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelkeep.errors import InvalidMetadataError
from modelkeep.redact import redact_metadata


def params_of(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The hyperparameters recorded in a snapshot."""
    return dict((meta.get("components") or {}).get("hyperparameters") or {})


def metrics_of(meta: Mapping[str, Any]) -> dict[str, float]:
    """The metrics recorded in a snapshot, as floats (JSON's "NaN"/"Infinity" strings decoded)."""
    raw = (meta.get("performance") or {}).get("metrics") or {}
    return {k: float(v) for k, v in raw.items()}


def build_snapshot(
    base: Any,
    *,
    name: str,
    version: str,
    created: str,
    author: str,
    tree_id: str,
    size: int,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    lineage: Mapping[str, Any] | None = None,
    inferred: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A validated metadata snapshot (JSON-ready dict) for version ``name@version``;
    ``inferred`` technical fields (signature, fingerprint) fill in what the user left out."""
    from modelkeep.schema.validation import metadata_from_data

    data: dict[str, Any] = base.model_dump(mode="json") if base is not None else {}
    identity = data.setdefault("identity", {})
    if identity.get("name") not in (None, name):
        raise InvalidMetadataError(
            f"metadata names model '{identity['name']}' but the version is registered as '{name}'",
            hint="register under the same name, or fix identity.name in the metadata file",
            name=name,
        )
    identity.update(id=f"{name}@{version}", name=name, version=version, created=created,
                    author=identity.get("author") or author)
    components = data.setdefault("components", {})
    for key, value in (lineage or {}).items():
        components[key] = value
    components.setdefault("hyperparameters", {}).update(params)
    artifacts = components.setdefault("artifacts", {})
    artifacts.update(tree=tree_id, size_bytes=size)
    data.setdefault("technical", {}).update(inferred or {})
    performance = data.setdefault("performance", {})
    performance.setdefault("metrics", {}).update(metrics)
    return redact_metadata(metadata_from_data(data).model_dump(mode="json"))
