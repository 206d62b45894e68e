"""An MLflow ``MLmodel`` file describing a version (read back with ``mlflow.models.Model.load``).

MLflow reads an MLmodel file as YAML with these fields: ``flavors`` (how to load the model),
``model_uuid``, ``utc_time_created``, ``model_size_bytes``, ``signature`` (inputs and outputs,
each a JSON string) and free ``metadata``. modelkeep writes one flavor, ``modelkeep``, naming the
version and its artifacts tree: it claims no MLflow flavor (``python_function``, ``onnx``) whose
loader would expect files laid out MLflow's way.

The signature: tensor-based when every input and output has a NumPy element type and a known
shape; column-based when every type has an MLflow column type (``string``, ``double``, ...);
otherwise left out, with ``metadata.signature_omitted`` saying why. The model id is a UUID
derived from the version and its tree, so exporting twice writes the same file.
"""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

from modelkeep.registry.standards.facts import NAMESPACE, VersionFacts
from modelkeep.registry.standards.text import yaml_document

NUMPY_TYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
               "float16", "float32", "float64", "complex64", "complex128"}
COLUMN_TYPES = {"bool": "boolean", "boolean": "boolean", "int32": "integer", "int64": "long",
                "float32": "float", "float64": "double", "double": "double", "float": "float",
                "string": "string", "str": "string", "bytes": "binary", "binary": "binary",
                "datetime": "datetime"}


def model_uuid(facts: VersionFacts) -> str:
    """A stable id of the version as MLflow sees it (hex, as MLflow writes its own)."""
    return uuid.uuid5(NAMESPACE, f"{facts.info.ref}:{facts.info.tree_id}").hex


def signature(facts: VersionFacts) -> tuple[dict[str, str] | None, str | None]:
    """(the MLmodel ``signature`` field, or None with the reason it is left out)."""
    sig = facts.get("technical", "signature") or {}
    specs = [*(sig.get("inputs") or []), *(sig.get("outputs") or [])]
    if not specs:
        return None, "the version declares no signature"
    if all(s["dtype"] in NUMPY_TYPES and s.get("shape") is not None for s in specs):
        def encode(side: str) -> str:
            return json.dumps([{"type": "tensor", "name": s["name"],
                                "tensor-spec": {"dtype": s["dtype"], "shape": s["shape"]}}
                               for s in sig.get(side) or []])
    elif all(s["dtype"] in COLUMN_TYPES for s in specs):
        def encode(side: str) -> str:
            return json.dumps([{"type": COLUMN_TYPES[s["dtype"]], "name": s["name"], "required": True}
                               for s in sig.get(side) or []])
    else:
        odd = next(s for s in specs if s["dtype"] not in NUMPY_TYPES | set(COLUMN_TYPES)
                   or s.get("shape") is None)
        return None, (f"'{odd['name']}' ({odd['dtype']}) has no MLflow tensor or column type "
                      "of a known shape")
    return {"inputs": encode("inputs"), "outputs": encode("outputs")}, None


def mlmodel(facts: VersionFacts) -> str:
    """The MLmodel file's text."""
    info = facts.info
    framework = facts.get("technical", "framework") or {}
    flavor = {"ref": info.ref, "version": info.version, "artifacts_tree": info.tree_id,
              "artifacts_format": facts.get("components", "artifacts", "format"),
              "framework": framework.get("name"), "framework_version": framework.get("version")}
    sig, omitted = signature(facts)
    metadata: dict[str, Any] = {
        "modelkeep_ref": info.ref,
        "description": facts.get("identity", "description"),
        "tags": facts.get("identity", "tags") or [],
        "metrics": {k: v for k, v in sorted(facts.metrics.items()) if math.isfinite(v)},
        "hyperparameters": facts.params,
        "dependencies": facts.get("technical", "dependencies") or [],
        "run_id": info.run_id,
    }
    if omitted:
        metadata["signature_omitted"] = omitted
    data: dict[str, Any] = {
        "flavors": {"modelkeep": {k: v for k, v in flavor.items() if v is not None}},
        "model_uuid": model_uuid(facts),
        "utc_time_created": info.created_at.replace("T", " ").rstrip("Z"),
        "model_size_bytes": info.size,
    }
    if sig:
        data["signature"] = sig
    data["metadata"] = {k: v for k, v in metadata.items() if v not in (None, [], {})}
    return yaml_document(data)
