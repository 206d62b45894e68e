"""The safetensors loader: real weights handed to a user loader function from the version."""

from __future__ import annotations

import numpy as np
import pytest
from loader_models import safetensors_model, write_example
from safetensors.numpy import load_file

from modelkeep.errors import InvalidMetadataError, LoaderFailedError
from modelkeep.schema.loading import with_loader


@pytest.fixture
def st_version(keep, tmp_path):
    folder = safetensors_model(tmp_path / "net")
    write_example(folder, {"x": [[1.0, 2.0, 3.0]]})
    keep.register("net", folder, metadata=with_loader(None, "net", "safetensors:build:load",
                                                       "example.json"))
    return keep, folder


def test_the_user_loader_builds_the_model_from_the_tensors(st_version):
    keep, folder = st_version
    tensors = load_file(str(folder / "weights.safetensors"))
    x = np.array([[1.0, 0.0, -1.0]], dtype=np.float32)
    expected = x @ tensors["layer0.weight"] + tensors["layer0.bias"]
    with keep.load("net@1.0.0") as loaded:
        got = loaded.predict({"x": x.tolist()})
    np.testing.assert_allclose(got["y"], expected, rtol=1e-6)


def test_signature_from_the_example_and_fingerprint_from_the_header(st_version):
    keep, _ = st_version
    technical = keep.show("net@1.0.0")["metadata"]["technical"]
    assert technical["signature"]["inferred_from"] == "example input"
    assert technical["signature"]["inputs"] == [{"name": "x", "dtype": "float64", "shape": [-1, 3]}]
    assert technical["signature"]["outputs"] == [{"name": "y", "dtype": "float64", "shape": [-1, 3]}]
    assert technical["fingerprint"]["inferred_from"] == "safetensors header"


def test_a_loader_function_that_raises_is_one_line(keep, tmp_path):
    folder = safetensors_model(tmp_path / "bad")
    (folder / "build.py").write_text("def load(tensors):\n    raise KeyError('layer9.weight')\n")
    meta = with_loader(None, "bad", "safetensors:build:load", None).model_copy(deep=True)
    meta.technical.signature = meta.technical.signature.model_validate(
        {"inputs": [{"name": "x", "dtype": "float32", "shape": [-1, 3]}]})
    keep.register("bad", folder, metadata=meta)
    with pytest.raises(LoaderFailedError) as info:
        keep.load("bad")
    assert str(info.value) == ("bad@1.0.0: the loader function build:load raised: "
                               "KeyError: 'layer9.weight'")


def test_several_weight_files_need_the_file_named(keep, tmp_path):
    folder = safetensors_model(tmp_path / "two")
    (folder / "other.safetensors").write_bytes((folder / "weights.safetensors").read_bytes())
    write_example(folder, {"x": [[1.0, 2.0, 3.0]]})
    with pytest.raises(InvalidMetadataError, match="needs one .safetensors file, the artifacts hold 2"):
        keep.register("two", folder, metadata=with_loader(None, "two", "safetensors:build:load",
                                                           "example.json"))
    meta = with_loader(None, "two", "safetensors:build:load", "example.json")
    meta.technical.loader.file = "weights.safetensors"
    assert keep.register("two", folder, metadata=meta).version == "1.0.0"
