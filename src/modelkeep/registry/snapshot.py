"""The metadata snapshot stored with each version: the user's metadata plus what the registry knows.

The registry owns identity (name, number, creation time, id) and the artifacts tree; the user's
file supplies the rest. Command-line params and metrics are merged over the file's. Secrets
(a pipeline command's ``--api-key X``, URL passwords, secret-named params and deployment
variables) are masked before the snapshot is stored: ``redact.redact_metadata``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from modelkeep.errors import InvalidMetadataError
from modelkeep.limits import has_surrogate
from modelkeep.redact import redact_metadata

_INT64 = 2**63
_OBJECT_ID = re.compile(r"[0-9a-f]{64}")
_CREATED = re.compile(r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
_NONFINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}
_FINGERPRINT_KEYS = ("value", "source", "inferred_from")  # the schema's field order


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
    # no user document, nothing inferred but a fingerprint: no need for the pydantic models
    if base is None and not lineage:
        plain = _plain_snapshot(name=name, version=version, created=created, author=author,
                                tree_id=tree_id, size=size, params=params, metrics=metrics,
                                inferred=inferred)
        if plain is not None:
            return redact_metadata(plain)
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


def _plain_snapshot(*, name: str, version: str, created: str, author: str, tree_id: str,
                    size: int, params: Mapping[str, Any], metrics: Mapping[str, float],
                    inferred: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The snapshot ``metadata_from_data`` would give for these registry-made fields, built on
    the schema's default document without importing pydantic (~0.18 CPU-s a process), or None
    when a value is not plainly valid or the default document is stale: the models decide
    those (and word the error). ``inferred`` may hold a fingerprint only (what every
    safetensors register infers); a signature goes to the models.
    tests/registry/test_snapshot_plain.py holds the two equal."""
    from modelkeep.schema.blank import blank_document

    fingerprint = _plain_fingerprint(inferred)
    if fingerprint is None:
        return None
    texts = (f"{name}@{version}", name, version, author, *params, *metrics)
    if not all(type(t) is str and t and not has_surrogate(t) for t in texts):
        return None
    if not (all(_plain_scalar(v) for v in params.values()) and _OBJECT_ID.fullmatch(tree_id)
            and type(size) is int and 0 <= size < _INT64
            and all(type(v) is float for v in metrics.values())):
        return None
    stamp = _plain_timestamp(created)
    doc = blank_document() if stamp is not None else None
    if doc is None:
        return None
    doc["identity"].update(id=f"{name}@{version}", name=name, version=version, created=stamp,
                           author=author)
    components = doc["components"]
    components["hyperparameters"] = dict(sorted(params.items()))
    components["artifacts"].update(tree=tree_id, size_bytes=size)
    doc["performance"]["metrics"] = {k: _plain_metric(v) for k, v in sorted(metrics.items())}
    doc["technical"]["fingerprint"].update(fingerprint)
    return doc


def _plain_fingerprint(inferred: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The inferred fields as the schema's ``Fingerprint`` keeps them ({} when none), or None
    when ``inferred`` holds anything else or a value the model might refuse or change."""
    if not inferred:
        return {}
    if set(inferred) != {"fingerprint"} or type(inferred["fingerprint"]) is not dict:
        return None
    found = inferred["fingerprint"]
    if not set(found) <= set(_FINGERPRINT_KEYS):
        return None
    text_ok = all(v is None or (type(v) is str and not has_surrogate(v))
                  for v in (found.get("value"), found.get("inferred_from")))
    if not text_ok or found.get("source") not in (None, "declared", "inferred"):
        return None
    return {k: found.get(k) for k in _FINGERPRINT_KEYS}


def _plain_scalar(value: Any) -> bool:
    """True for a value the schema's ``Scalar`` keeps as it is (types.py)."""
    if type(value) is bool:
        return True
    if type(value) is str:
        return not has_surrogate(value)
    if type(value) is int:
        return -_INT64 <= value < _INT64
    return type(value) is float and math.isfinite(value) and -_INT64 <= value <= _INT64 - 1


def _plain_metric(value: float) -> float | str:
    """A metric in its JSON form: NaN and the infinities as strings (``Metric``)."""
    if math.isnan(value):
        return "NaN"
    return _NONFINITE.get(value, value)


def _plain_timestamp(created: str) -> str | None:
    """A registry timestamp (``clock.now_iso``) as the schema writes it: UTC, with its
    microseconds unless they are zero; None for any other form."""
    if type(created) is not str or not _CREATED.fullmatch(created):
        return None
    try:
        moment = datetime.fromisoformat(created[:-1])
    except ValueError:  # no such day or time
        return None
    fraction = f".{moment.microsecond:06d}" if moment.microsecond else ""
    return f"{created[:19]}{fraction}Z"
