"""Inferred signatures and fingerprints drive the SemVer rules like declared ones.

docs/versioning.md: a breaking signature change is MAJOR; a new architecture (a changed
fingerprint) is MINOR; retrained weights are PATCH. A declared signature always wins.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from loader_models import onnx_model, safetensors_model, sklearn_model, write_example

from modelkeep.errors import InvalidVersionError
from modelkeep.schema import ModelMetadata
from modelkeep.schema.loading import with_loader


def _onnx(keep, tmp_path, tag, **options):
    folder = onnx_model(tmp_path / tag, **options)
    return keep.register("lin", folder, metadata=with_loader(None, "lin", "onnx", None))


def test_retrained_onnx_weights_keep_the_fingerprint_and_are_a_patch(keep, tmp_path):
    _onnx(keep, tmp_path, "a")
    second = _onnx(keep, tmp_path, "b", weights=np.full((3, 2), 0.5))
    assert second.version == "1.0.1"
    first, after = (keep.show(f"lin@{v}")["metadata"]["technical"]["fingerprint"]["value"]
                    for v in ("1.0.0", "1.0.1"))
    assert first == after


def test_a_new_onnx_layer_changes_the_fingerprint_and_needs_a_minor(keep, tmp_path):
    _onnx(keep, tmp_path, "a")
    folder = onnx_model(tmp_path / "deeper", hidden=True)
    with pytest.raises(InvalidVersionError, match="architecture fingerprint changed"):
        keep.register("lin", folder, metadata=with_loader(None, "lin", "onnx", None),
                      bump="patch")
    assert keep.register("lin", folder,
                         metadata=with_loader(None, "lin", "onnx", None)).version == "1.1.0"


def test_an_inferred_input_change_needs_a_major(keep, tmp_path):
    _onnx(keep, tmp_path, "a")
    with pytest.raises(InvalidVersionError) as info:
        keep.register("lin", onnx_model(tmp_path / "wide", in_features=4),
                      metadata=with_loader(None, "lin", "onnx", None), bump="minor")
    assert "input 'x' changed (float32[-1, 3] -> float32[-1, 4])" in str(info.value)
    assert keep.register("lin", tmp_path / "wide").version == "2.0.0"  # loader inherited


def test_sklearn_features_and_pipeline_steps(keep, tmp_path):
    reg = lambda folder, **kw: keep.register(  # noqa: E731
        "clf", folder, metadata=with_loader(None, "clf", "skops", None), **kw)
    reg(sklearn_model(tmp_path / "a"))
    assert reg(sklearn_model(tmp_path / "b", seed=1)).version == "1.0.1"  # refit
    assert reg(sklearn_model(tmp_path / "c", seed=1, pipeline=True)).version == "1.1.0"
    assert reg(sklearn_model(tmp_path / "d", features=5, pipeline=True)).version == "2.0.0"


def test_safetensors_retrain_is_a_patch_and_a_new_layer_a_minor(keep, tmp_path, make_model):
    def reg(folder):
        write_example(folder, {"x": [[1.0, 2.0, 3.0]]})
        return keep.register("st", folder, metadata=with_loader(
            None, "st", "safetensors:build:load", "example.json")).version

    assert reg(safetensors_model(tmp_path / "a")) == "1.0.0"
    assert reg(safetensors_model(tmp_path / "b", seed=7)) == "1.0.1"
    assert reg(safetensors_model(tmp_path / "c", layers=2)) == "1.1.0"


def test_safetensors_fingerprint_is_read_without_a_loader(keep, tmp_path):
    folder = safetensors_model(tmp_path / "plain")
    (folder / "build.py").unlink()
    keep.register("plain", folder)
    fingerprint = keep.show("plain")["metadata"]["technical"]["fingerprint"]
    assert fingerprint["inferred_from"] == "safetensors header"
    assert keep.show("plain")["metadata"]["technical"]["signature"]["inputs"] == []


def test_a_declared_signature_wins_and_show_says_declared(keep, tmp_path):
    folder = onnx_model(tmp_path / "a")
    declared = {"inputs": [{"name": "x", "dtype": "float32", "shape": [-1, 3]}],
                "outputs": [{"name": "y", "dtype": "float32", "shape": None}]}
    meta = ModelMetadata.model_validate({"name": "lin", "version": "1.0.0",
                                         "technical": {"signature": declared}})
    keep.register("lin", folder, metadata=with_loader(meta, "lin", "onnx", None))
    signature = keep.show("lin")["metadata"]["technical"]["signature"]
    assert signature["outputs"] == declared["outputs"] and signature.get("source") is None
    # the next version declares nothing: the declared signature is inherited, not re-inferred
    second = keep.register("lin", onnx_model(tmp_path / "b", weights=np.zeros((3, 2))),
                           metadata=with_loader(None, "lin", "onnx", None))
    assert second.version == "1.0.1"
    assert keep.show("lin@1.0.1")["metadata"]["technical"]["signature"]["outputs"][0]["shape"] is None


def test_an_inferred_signature_is_not_inherited_but_read_again(keep, tmp_path):
    _onnx(keep, tmp_path, "a")
    keep.register("lin", onnx_model(tmp_path / "n", input_name="pixels"))
    signature = keep.show("lin@2.0.0")["metadata"]["technical"]["signature"]
    assert [s["name"] for s in signature["inputs"]] == ["pixels"]


def test_a_first_signature_after_versions_without_one_is_not_a_breaking_change(keep, tmp_path,
                                                                              make_model):
    folder = onnx_model(tmp_path / "a")
    keep.register("lin", folder)  # no loader: no signature known
    assert keep.register("lin", folder, metadata=with_loader(None, "lin", "onnx", None)
                         ).version == "1.0.1"


def test_registering_without_a_loader_imports_no_framework(tmp_path):
    folder = onnx_model(tmp_path / "m")
    script = f"""
import sys
from modelkeep.keep import Keep
keep = Keep.init({str(tmp_path / "k")!r})
keep.register("m", {str(folder)!r})
print(sorted(m for m in ("onnx", "onnxruntime", "sklearn", "skops", "numpy", "safetensors")
             if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.replace("'", '"')) == []


def test_same_files_as_a_version_registered_before_fingerprints_make_no_new_version(
        keep, tmp_path, monkeypatch):
    from modelkeep.registry.loaders import safetensors_weights

    folder = safetensors_model(tmp_path / "old")
    with monkeypatch.context() as older_modelkeep:  # one that read no fingerprint
        older_modelkeep.setattr(safetensors_weights, "tensor_structure", lambda *a: None)
        keep.register("old", folder)
    assert keep.show("old")["metadata"]["technical"]["fingerprint"]["value"] is None
    again = keep.register("old", folder)
    assert again.unchanged and again.version == "1.0.0"
