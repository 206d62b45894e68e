"""``modelkeep bump NAME PATH``: the bump a candidate needs and every reason; nothing registered."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner
from loader_models import onnx_model
from support import cli_run, one_line_error

from modelkeep.cli.main import cli


def _versions() -> list[str]:
    return [v["version"] for v in json.loads(cli_run("list", "lin", "--json").stdout)]


def test_bump_names_the_major_change_and_registers_nothing(project):
    cli_run("register", "lin", str(onnx_model(project / "a")), "--loader", "onnx")
    wide = onnx_model(project / "wide", in_features=4)
    out = cli_run("bump", "lin", str(wide)).stdout
    assert "lin@1.0.0 -> 2.0.0: needs a major bump" in out
    assert "major  input 'x' changed (float32[-1, 3] -> float32[-1, 4])" in out
    assert "patch  artifacts changed" in out
    assert _versions() == ["1.0.0"]
    # what bump said is what register does
    assert "lin@2.0.0" in cli_run("register", "lin", str(wide)).stdout


def test_bump_json_lists_every_reason_with_its_bump(project):
    cli_run("register", "lin", str(onnx_model(project / "a")), "--loader", "onnx")
    deeper = onnx_model(project / "deeper", hidden=True, weights=np.zeros((3, 2)))
    report = json.loads(cli_run("bump", "lin", str(deeper), "--json").stdout)
    assert report["previous"] == "1.0.0" and report["required"] == "minor"
    assert report["next_version"] == "1.1.0"
    reasons = {r["bump"]: r["reason"] for r in report["reasons"]}
    assert reasons["minor"].startswith("architecture fingerprint changed (onnx graph: ")
    assert reasons["patch"] == "artifacts changed"


def test_bump_of_a_retrain_is_a_patch_and_of_the_same_files_unchanged(project):
    cli_run("register", "lin", str(onnx_model(project / "a")), "--loader", "onnx")
    retrained = onnx_model(project / "b", weights=np.ones((3, 2)))
    assert "needs a patch bump" in cli_run("bump", "lin", str(retrained)).stdout
    assert "is identical to lin@1.0.0" in cli_run("bump", "lin", str(project / "a")).stdout


def test_bump_of_a_new_model_is_its_first_version(project):
    out = cli_run("bump", "fresh", "model").stdout
    assert "fresh has no versions yet" in out and "fresh@1.0.0" in out
    assert "No models" in cli_run("list").stdout


def test_bump_bad_inputs_are_one_line(project):
    result = CliRunner().invoke(cli, ["bump", "lin", "missing-folder"])
    assert result.exit_code == 2
    one_line_error(result, "path 'missing-folder' does not exist")
    result = CliRunner().invoke(cli, ["bump", "lin", "model", "--loader", "python:nomodule"])
    assert result.exit_code == 2
    one_line_error(result, "needs an entry point 'module:function'")
