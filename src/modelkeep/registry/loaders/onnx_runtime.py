"""The ``onnx`` loader (ONNX Runtime) and what an ONNX graph says about its signature.

Inputs are a JSON object keyed by graph input name (or, for a one-input graph, the input
alone) and become numpy arrays of the input's element type; outputs are a JSON object keyed
by graph output name. The signature is read from the graph with the ``onnx`` package (no
session needed), the fingerprint from its operators and initializer shapes: retrained
weights keep it, a new layer changes it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelkeep.registry.loaders.base import Loaded, failure, require
from modelkeep.registry.loaders.workspace import Workspace

# ONNX Runtime's type strings -> the dtypes signatures use
_ORT_TYPES = {"float": "float32", "double": "float64", "float16": "float16", "bool": "bool",
              "string": "string", "int8": "int8", "int16": "int16", "int32": "int32",
              "int64": "int64", "uint8": "uint8", "uint16": "uint16", "uint32": "uint32",
              "uint64": "uint64"}


def _dims(shape: Any) -> list[int] | None:
    if shape is None:
        return None
    return [d if isinstance(d, int) and d >= 0 else -1 for d in shape]


def graph_facts(path: Path) -> tuple[dict[str, Any], str]:
    """(signature, structure text for the fingerprint) of the ONNX model at ``path``."""
    onnx = require("onnx", "onnx", "onnx")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise failure(exc, f"reading ONNX model {path.name} failed") from exc
    graph = model.graph
    initializers = {i.name for i in graph.initializer}

    def spec(value: Any) -> dict[str, Any]:
        tensor = value.type.tensor_type
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)
        dims = None
        if tensor.HasField("shape"):
            dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim]
        name = "string" if dtype.kind in "OSU" else str(dtype)
        return {"name": value.name, "dtype": name, "shape": dims}

    signature = {"inputs": [spec(v) for v in graph.input if v.name not in initializers],
                 "outputs": [spec(v) for v in graph.output]}
    structure = {"ops": [f"{n.domain}:{n.op_type}" for n in graph.node],
                 "weights": sorted((i.name, i.data_type, list(i.dims)) for i in graph.initializer),
                 "signature": signature}
    return signature, json.dumps(structure, sort_keys=True)


def load(ref: str, workspace: Workspace, spec: Mapping[str, Any],
         signature: Mapping[str, Any]) -> Loaded:
    """An ONNX Runtime session (CPU) over the version's model file."""
    ort = require("onnxruntime", "onnx", "onnx")
    np = require("numpy", "onnx", "onnx")
    path = workspace.artifacts / str(spec["file"])
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise failure(exc, f"{ref}: ONNX Runtime could not load {spec['file']}") from exc
    inputs = session.get_inputs()
    outputs = [o.name for o in session.get_outputs()]
    types = {i.name: _ORT_TYPES.get(i.type.removeprefix("tensor(").rstrip(")"), "float32")
             for i in inputs}
    if not signature.get("inputs"):
        signature = {"inputs": [{"name": i.name, "dtype": types[i.name], "shape": _dims(i.shape)}
                                for i in inputs], "outputs": []}

    def call(data: Any) -> Any:
        if not (isinstance(data, Mapping) and all(i.name in data for i in inputs)):
            data = {inputs[0].name: data}
        feeds = {i.name: np.asarray(data[i.name], dtype=np.dtype(
            object if types[i.name] == "string" else types[i.name])) for i in inputs}
        return dict(zip(outputs, session.run(None, feeds), strict=True))

    return Loaded(ref, "onnx", call, signature=signature, folder=workspace.folder)
