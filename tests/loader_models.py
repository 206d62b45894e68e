"""Real models for the loader tests, built with each framework's own API (no torch needed).

Each builder writes a model folder: an ONNX graph made with ``onnx.helper``, a fitted
scikit-learn estimator saved with skops, safetensors weights with a user loader module, and a
plain Python entry point; each may include an example input file.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import numpy as np


def write_example(folder: Path, value: Any, name: str = "example.json") -> Path:
    """An example input file in the model folder."""
    (folder / name).write_text(json.dumps(value))
    return folder / name


def onnx_model(folder: Path, *, weights: np.ndarray | None = None, hidden: bool = False,
               in_features: int = 3, out_features: int = 2, input_name: str = "x") -> Path:
    """``y = x @ W + b`` (and, with ``hidden``, a ReLU layer before it) as ``model.onnx``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    w = weights if weights is not None else rng.normal(size=(in_features, out_features))
    inits = [numpy_helper.from_array(w.astype(np.float32), "W"),
             numpy_helper.from_array(np.ones(out_features, dtype=np.float32), "b")]
    nodes = []
    source = input_name
    if hidden:
        inits.append(numpy_helper.from_array(np.eye(in_features, dtype=np.float32), "H"))
        nodes += [helper.make_node("MatMul", [input_name, "H"], ["h0"]),
                  helper.make_node("Relu", ["h0"], ["h"])]
        source = "h"
    nodes += [helper.make_node("MatMul", [source, "W"], ["xw"]),
              helper.make_node("Add", ["xw", "b"], ["y"])]
    graph = helper.make_graph(
        nodes, "linear",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [None, in_features])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, out_features])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # readable by every onnxruntime the extra allows
    onnx.checker.check_model(model)
    onnx.save(model, str(folder / "model.onnx"))
    return folder


def sklearn_model(folder: Path, *, seed: int = 0, features: int = 4, pipeline: bool = False) -> Path:
    """A fitted LogisticRegression (optionally behind a StandardScaler) as ``model.skops``."""
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(60, features))
    y = np.where(x[:, 0] + x[:, 1] > 0, "yes", "no")
    est: Any = LogisticRegression(max_iter=200)
    if pipeline:
        est = make_pipeline(StandardScaler(), est)
    est.fit(x, y)
    sio.dump(est, folder / "model.skops")
    return folder


LOADER_MODULE = '''
import numpy as np


class Linear:
    def __init__(self, tensors):
        self.layers = [(tensors[f"{name}.weight"], tensors[f"{name}.bias"])
                       for name in sorted({k.split(".")[0] for k in tensors})]

    def predict(self, inputs):
        x = np.asarray(inputs["x"], dtype=np.float32)
        for weight, bias in self.layers:
            x = x @ weight + bias
        return {"y": x}


def load(tensors):
    return Linear(tensors)
'''


def safetensors_model(folder: Path, *, seed: int = 0, layers: int = 1) -> Path:
    """``weights.safetensors`` (``layerN.weight``/``.bias``) and ``build.py`` whose ``load``
    turns the tensors into a model."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tensors = {}
    for n in range(layers):
        tensors[f"layer{n}.weight"] = rng.normal(size=(3, 3)).astype(np.float32)
        tensors[f"layer{n}.bias"] = rng.normal(size=(3,)).astype(np.float32)
    save_file(tensors, str(folder / "weights.safetensors"))
    (folder / "build.py").write_text(LOADER_MODULE)
    return folder


def python_model(folder: Path, body: str | None = None, module: str = "predict") -> Path:
    """``predict.py`` with ``run(inputs)`` doubling ``inputs["x"]`` (or ``body``)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module}.py").write_text(textwrap.dedent(body or '''
        def run(inputs):
            return {"doubled": [2 * v for v in inputs["x"]]}


        class Model:
            def __init__(self, folder):
                self.scale = float((folder / "scale.txt").read_text())

            def predict(self, inputs):
                return [self.scale * v for v in inputs]
        '''))
    (folder / "scale.txt").write_text("3")
    return folder
