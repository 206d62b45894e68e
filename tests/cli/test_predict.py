"""``modelkeep predict``: JSON in (file or stdin), JSON out; every bad input one line."""

from __future__ import annotations

import json
import pickle

import pytest
from click.testing import CliRunner
from loader_models import onnx_model, python_model, write_example
from support import cli_run, one_line_error

from modelkeep.cli.main import cli


@pytest.fixture
def onnx_project(project):
    folder = onnx_model(project / "lin")
    write_example(folder, {"x": [[1.0, 2.0, 3.0]]})
    cli_run("register", "lin", str(folder), "--loader", "onnx", "--example-input", "example.json")
    (project / "request.json").write_text(json.dumps({"x": [[1.0, 2.0, 3.0]]}))
    return project


def test_predict_prints_the_outputs_as_json(onnx_project):
    out = cli_run("predict", "lin@1.0.0", "--input", "request.json").stdout
    outputs = json.loads(out)
    assert list(outputs) == ["y"] and len(outputs["y"][0]) == 2
    assert out.count("\n") == 1


def test_predict_reads_standard_input_and_json_wraps_the_outputs(onnx_project):
    request = (onnx_project / "request.json").read_text()
    result = CliRunner().invoke(cli, ["predict", "lin", "--input", "-", "--json"], input=request)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ref"] == "lin@1.0.0" and data["kind"] == "onnx" and list(data["outputs"]) == ["y"]


def test_show_says_where_the_signature_came_from(onnx_project):
    out = cli_run("show", "lin@1.0.0").stdout
    assert "signature (inferred from onnx graph)" in out
    assert "inputs x float32[-1, 3]" in out
    assert "fingerprint (inferred from onnx graph)" in out
    assert "loader" in out and "onnx" in out


@pytest.mark.parametrize("text, fragment", [
    ('{"x": [[1.0, 2.0', "the input is not valid JSON"),
    ('{"x": [[1.0, 2.0]]}', "input 'x' has shape [1, 2], the signature wants [-1, 3]"),
    ('{"x": [[1, 2, 3]], "extra": 1}', "unknown input 'extra'"),
])
def test_bad_inputs_are_one_line_and_exit_2(onnx_project, text, fragment):
    (onnx_project / "bad.json").write_text(text)
    result = CliRunner().invoke(cli, ["predict", "lin", "--input", "bad.json"])
    assert result.exit_code == 2
    one_line_error(result, fragment)


def test_a_missing_input_file_is_one_line(onnx_project):
    result = CliRunner().invoke(cli, ["predict", "lin", "--input", "nope.json"])
    assert result.exit_code == 2
    one_line_error(result, "input file 'nope.json' does not exist")


def test_a_model_that_raises_is_one_line_with_its_exception(project):
    folder = python_model(project / "boom", body="""
        def run(inputs):
            raise RuntimeError("out of cheese")
        """)
    write_example(folder, [1])
    sig = project / "meta.yaml"
    sig.write_text("name: boom\nversion: 1.0.0\ntechnical:\n  signature:\n"
                   "    inputs: [{name: input, dtype: int64, shape: [-1]}]\n")
    cli_run("register", "boom", str(folder), "--metadata", str(sig), "--loader",
            "python:predict:run")
    (project / "req.json").write_text("[1, 2]")
    result = CliRunner().invoke(cli, ["predict", "boom", "--input", "req.json"])
    assert result.exit_code == 1
    one_line_error(result, "boom@1.0.0 raised: RuntimeError: out of cheese")


def test_an_untrusted_pickle_names_the_config_key(project):
    folder = project / "pk"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(pickle.dumps([1, 2]))
    meta = project / "meta.yaml"
    meta.write_text("name: pk\nversion: 1.0.0\ntechnical:\n  signature:\n"
                    "    inputs: [{name: input, dtype: int64, shape: [-1]}]\n")
    cli_run("register", "pk", str(folder), "--metadata", str(meta), "--loader", "pickle")
    (project / "req.json").write_text("[1]")
    result = CliRunner().invoke(cli, ["predict", "pk", "--input", "req.json", "--json"])
    assert result.exit_code == 2
    error = json.loads(result.stderr)["error"]
    assert error["code"] == "pickle_untrusted" and "trusted_pickles" in error["hint"]


def test_register_refuses_an_unknown_loader_kind_in_one_line(project):
    result = CliRunner().invoke(cli, ["register", "m", "model", "--loader", "torch:model.pt"])
    assert result.exit_code == 2
    one_line_error(result, "unknown loader kind 'torch'")
    assert "No models" in cli_run("list").stdout
