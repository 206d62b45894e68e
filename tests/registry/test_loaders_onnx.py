"""The onnx loader: a real graph built with onnx.helper, run by ONNX Runtime through Keep.load."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
from loader_models import onnx_model, write_example

from modelkeep.errors import InvalidModelInputError, LoaderFailedError
from modelkeep.registry.loaders import LoadedModel
from modelkeep.schema.loading import with_loader


@pytest.fixture
def onnx_version(keep, tmp_path):
    folder = onnx_model(tmp_path / "linear")
    write_example(folder, {"x": [[1.0, 2.0, 3.0]]})
    keep.register("linear", folder, metadata=with_loader(None, "linear", "onnx", "example.json"))
    return keep, folder


def test_predict_matches_onnx_runtime_itself(onnx_version):
    keep, folder = onnx_version
    rows = [[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]]
    session = onnxruntime.InferenceSession(str(folder / "model.onnx"),
                                           providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, {"x": np.asarray(rows, dtype=np.float32)})
    loaded = keep.load("linear@1.0.0")
    assert isinstance(loaded, LoadedModel) and loaded.ref == "linear@1.0.0"
    got = loaded.predict({"x": rows})
    assert list(got) == ["y"]
    np.testing.assert_allclose(got["y"], expected, rtol=1e-6)
    assert loaded.predict(rows) == got  # a one-input graph takes the input alone too
    loaded.close()


def test_signature_and_fingerprint_are_read_from_the_graph(onnx_version):
    keep, _ = onnx_version
    technical = keep.show("linear@1.0.0")["metadata"]["technical"]
    assert technical["signature"] == {
        "inputs": [{"name": "x", "dtype": "float32", "shape": [-1, 3]}],
        "outputs": [{"name": "y", "dtype": "float32", "shape": [-1, 2]}],
        "source": "inferred", "inferred_from": "onnx graph"}
    assert technical["fingerprint"]["source"] == "inferred"
    assert len(technical["fingerprint"]["value"]) == 64


def test_example_inputs_come_back_from_the_artifacts(onnx_version):
    keep, _ = onnx_version
    assert keep.example_inputs("linear@1.0.0") == [{"x": [[1.0, 2.0, 3.0]]}]


@pytest.mark.parametrize("inputs, fragment", [
    ({"x": [[1.0, 2.0]]}, "input 'x' has shape [1, 2], the signature wants [-1, 3]"),
    ({"x": [[1.0, "a", 3.0]]}, "input 'x' wants float32 values, got string \"a\""),
    ({"x": [[1.0, 2.0, 3.0], [1.0]]}, "input 'x' is ragged"),
    ({"z": [[1.0, 2.0, 3.0]]}, "input 'x' is missing; the signature is (x: float32[-1, 3])"),
    ({"x": [[1.0, 2.0, 3.0]], "z": 1}, "unknown input 'z'"),
])
def test_inputs_that_do_not_fit_the_signature_are_refused(onnx_version, inputs, fragment):
    keep, _ = onnx_version
    with keep.load("linear@1.0.0") as loaded, pytest.raises(InvalidModelInputError) as info:
        loaded.predict(inputs)
    assert fragment in str(info.value)


def test_a_file_that_is_not_onnx_is_refused_at_register_in_one_line(keep, tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(b"not a protobuf at all")
    with pytest.raises(LoaderFailedError) as info:
        keep.register("broken", folder, metadata=with_loader(None, "broken", "onnx", None))
    assert "reading ONNX model model.onnx failed: DecodeError" in str(info.value)
    assert "\n" not in str(info.value)
    assert keep.models() == []
