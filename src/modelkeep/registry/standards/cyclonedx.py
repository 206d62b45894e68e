"""A CycloneDX 1.6 ML-BOM (JSON) of a version: the model, its datasets and its dependencies.

The model is the BOM's subject (``metadata.component``, type ``machine-learning-model``) with a
``modelCard``: its datasets by reference, inputs and outputs from the signature, and its finite
metrics as performance metrics. Each dataset is a ``data`` component (its tree id as version);
each runtime dependency a ``library`` component, with a ``pkg:pypi`` package URL and a version
when the dependencies lock pins one. The ``dependencies`` graph says the model depends on all of
them. The serial number is derived from the version and its tree, so exporting twice writes the
same BOM; its timestamp is the version's creation time.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from typing import Any

from modelkeep.registry.standards.facts import LICENSE_TAG, NAMESPACE, VersionFacts

SPEC_VERSION = "1.6"
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_PINNED = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*===?\s*([A-Za-z0-9][A-Za-z0-9.+!_-]*)\s*$")


def _own_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("modelkeep")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _package(name: str) -> str:
    """A PyPI name in its normal form (PEP 503), as package URLs write it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def libraries(facts: VersionFacts) -> list[dict[str, Any]]:
    """One ``library`` component per runtime dependency (pinned versions from the lock)."""
    pinned = {}
    for line in facts.get("deployment", "dependencies_lock") or []:
        match = _PINNED.match(line)
        if match:
            pinned[_package(match.group(1))] = match.group(2)
    names = []
    for line in [*(facts.get("technical", "dependencies") or []), *pinned]:
        match = _REQUIREMENT.match(line)
        if match and _package(match.group(1)) not in names:
            names.append(_package(match.group(1)))
    out = []
    for name in names:
        version = pinned.get(name)
        purl = f"pkg:pypi/{name}" + (f"@{version}" if version else "")
        component: dict[str, Any] = {"type": "library", "bom-ref": purl, "name": name, "purl": purl}
        if version:
            component["version"] = version
        out.append(component)
    return out


def _datasets(facts: VersionFacts) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for d in facts.get("components", "datasets") or []:
        ref = f"dataset:{d['name']}:{d['role']}:{d.get('tree') or 'unknown'}"
        if any(c["bom-ref"] == ref for c in out):  # a bom-ref names one component
            continue
        component: dict[str, Any] = {
            "type": "data", "bom-ref": ref, "name": d["name"],
            "data": [{"type": "dataset", "name": d["name"], "description": f"{d['role']} data"}],
            "properties": [{"name": "modelkeep:role", "value": d["role"]}],
        }
        if d.get("tree"):
            component["version"] = d["tree"]
        if d.get("source"):
            component["properties"].append({"name": "modelkeep:source", "value": d["source"]})
        out.append(component)
    return out


def _model(facts: VersionFacts, datasets: list[dict[str, Any]]) -> dict[str, Any]:
    info, sig = facts.info, facts.get("technical", "signature") or {}
    framework = facts.get("technical", "framework") or {}
    parameters: dict[str, Any] = {"datasets": [{"ref": d["bom-ref"]} for d in datasets]}
    for side in ("inputs", "outputs"):
        if sig.get(side):
            parameters[side] = [{"format": f"{s['name']}: {s['dtype']}"
                                 + (f" {s['shape']}" if s.get("shape") is not None else "")}
                                for s in sig[side]]
    if framework.get("name"):
        parameters["architectureFamily"] = framework["name"]
    metrics = [{"type": k, "value": repr(v)} for k, v in sorted(facts.metrics.items())
               if math.isfinite(v)]
    card: dict[str, Any] = {"modelParameters": parameters}
    if metrics:
        card["quantitativeAnalysis"] = {"performanceMetrics": metrics}
    model: dict[str, Any] = {
        "type": "machine-learning-model", "bom-ref": f"model:{info.ref}", "name": info.name,
        "version": info.version,
        "properties": [{"name": "modelkeep:ref", "value": info.ref},
                       {"name": "modelkeep:artifacts_tree", "value": info.tree_id},
                       {"name": "modelkeep:size_bytes", "value": str(info.size)}],
        "modelCard": card,
    }
    description = facts.get("identity", "description")
    if description:
        model["description"] = description
    author = facts.get("identity", "author") or info.author
    if author:
        model["authors"] = [{"name": author}]
    license_name = facts.tagged(LICENSE_TAG)
    if license_name:  # by name: an SPDX id is not checked here, and a name may be anything
        model["licenses"] = [{"license": {"name": license_name}}]
    return model


def ml_bom(facts: VersionFacts) -> str:
    """The BOM as indented JSON."""
    datasets = _datasets(facts)
    libs = libraries(facts)
    model = _model(facts, datasets)
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{uuid.uuid5(NAMESPACE, 'bom:' + facts.info.ref + facts.info.tree_id)}",
        "version": 1,
        "metadata": {
            "timestamp": facts.info.created_at,
            "tools": {"components": [{"type": "application", "name": "modelkeep",
                                      "version": _own_version()}]},
            "component": model,
        },
        "components": [*datasets, *libs],
        "dependencies": [
            {"ref": model["bom-ref"], "dependsOn": [c["bom-ref"] for c in [*datasets, *libs]]},
            *({"ref": c["bom-ref"]} for c in [*datasets, *libs]),
        ],
    }
    return json.dumps(bom, indent=2, ensure_ascii=False) + "\n"
