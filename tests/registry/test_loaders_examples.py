"""Example inputs (read verified from the artifacts) and what happens without a framework."""

from __future__ import annotations

import sys

import pytest
from loader_models import onnx_model, python_model, write_example

from modelkeep.errors import InvalidMetadataError, InvalidModelInputError, MissingDependencyError
from modelkeep.registry.loaders import example_inputs
from modelkeep.schema.loading import with_loader


def test_a_jsonl_file_holds_one_example_a_line_for_keep_or_store(keep, tmp_path):
    folder = python_model(tmp_path / "m")
    (folder / "examples.jsonl").write_text('{"x": [1]}\n\n{"x": [2, 3]}\n')
    info = keep.register("m", folder, metadata=with_loader(None, "m", "python:predict:run",
                                                           "examples.jsonl"))
    meta = keep.show("m")["metadata"]
    assert example_inputs(keep, info, meta) == [{"x": [1]}, {"x": [2, 3]}]
    assert example_inputs(keep.store, info, meta) == keep.example_inputs("m")
    assert meta["technical"]["signature"]["inputs"] == [{"name": "x", "dtype": "int64",
                                                         "shape": [-1]}]


def test_a_version_without_examples_has_none(keep, tmp_path, make_model):
    keep.register("plain", make_model(tmp_path / "plain"))
    assert keep.example_inputs("plain") == []


def test_a_missing_or_escaping_or_malformed_example_is_refused(keep, tmp_path):
    folder = python_model(tmp_path / "m")
    with pytest.raises(InvalidMetadataError, match="example input 'nope.json' is not in"):
        keep.register("m", folder, metadata=with_loader(None, "m", "python:predict:run",
                                                        "nope.json"))
    from modelkeep.errors import UnsafePathError

    with pytest.raises(UnsafePathError):
        keep.register("m", folder, metadata=with_loader(None, "m", "python:predict:run",
                                                        "../outside.json"))
    (folder / "bad.json").write_text("{not json")
    with pytest.raises(InvalidModelInputError, match="example input bad.json is not valid JSON"):
        keep.register("m", folder, metadata=with_loader(None, "m", "python:predict:run",
                                                        "bad.json"))
    assert keep.models() == []


def test_a_missing_framework_names_the_extra(keep, tmp_path, monkeypatch):
    folder = onnx_model(tmp_path / "lin")
    write_example(folder, {"x": [[1.0, 2.0, 3.0]]})
    keep.register("lin", folder, metadata=with_loader(None, "lin", "onnx", None))
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now fails
    with pytest.raises(MissingDependencyError) as info:
        keep.load("lin")
    assert "the onnx loader needs onnxruntime" in str(info.value)
    assert info.value.hint == "pip install 'modelkeep[onnx]'"
