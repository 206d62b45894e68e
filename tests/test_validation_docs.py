"""docs/validation.md's CI examples work: the workflow is YAML a runner accepts, and the
commands the workflow and the pre-commit hook run are real modelkeep commands that run."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

DOC = Path(__file__).resolve().parents[1] / "docs" / "validation.md"


def _yaml_blocks() -> dict[str, dict]:
    """The doc's YAML blocks, keyed by the file name in their first comment line."""
    blocks = {}
    for text in re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S):
        first = text.splitlines()[0]
        if first.startswith("# .") or first.startswith("# ci"):
            blocks[first[2:].strip()] = yaml.safe_load(text)
    return blocks


def test_the_workflow_parses_and_gates_on_validate():
    workflow = _yaml_blocks()[".github/workflows/validate.yml"]
    # PyYAML reads the bare key `on` as True (YAML 1.1), as GitHub's own loader does not;
    # either way the triggers are there
    assert workflow.get("on", workflow.get(True)) == {"pull_request": None,
                                                      "push": {"branches": ["main"]}}
    steps = workflow["jobs"]["validate"]["steps"]
    runs = [s["run"] for s in steps if "run" in s]
    validate = next(r for r in runs if r.startswith("modelkeep validate"))
    assert "--junit validation.xml" in validate and "--report-json validation.json" in validate
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()"  # the report is kept when validation fails


def _run_in_a_keep(tmp_path: Path, command: str) -> subprocess.CompletedProcess[str]:
    """Run ``command`` (a modelkeep command line from the doc) where bert@latest exists and
    ci/policy.yaml is the doc's example policy."""
    def mk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "modelkeep", *args], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)

    assert mk("init").returncode == 0
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.bin").write_bytes(b"w")
    assert mk("register", "bert", "model", "--metric", "accuracy=0.93").returncode == 0
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "policy.yaml").write_text("required: [name]\nmetrics: [accuracy >= 0.9]\n")
    argv = shlex.split(command)
    assert argv[0] == "modelkeep"
    return mk(*argv[1:])


def test_the_workflow_validate_step_runs(tmp_path):
    steps = _yaml_blocks()[".github/workflows/validate.yml"]["jobs"]["validate"]["steps"]
    validate = next(s["run"] for s in steps if s.get("run", "").startswith("modelkeep validate"))
    result = _run_in_a_keep(tmp_path, validate)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "validation.xml").is_file() and (tmp_path / "validation.json").is_file()


def test_the_pre_commit_hook_names_a_real_command(tmp_path):
    config = _yaml_blocks()[".pre-commit-config.yaml"]
    (hook,) = config["repos"][0]["hooks"]
    assert config["repos"][0]["repo"] == "local"
    assert (hook["language"], hook["pass_filenames"]) == ("system", False)
    re.compile(hook["files"])
    result = _run_in_a_keep(tmp_path, hook["entry"])
    assert result.returncode == 0, result.stderr
    assert "PASSED: 2 checks" in result.stdout


def test_the_documented_policy_is_valid():
    from modelkeep.registry.validation.policy import parse_policy

    text = next(t for t in re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
                if t.startswith("# the gate"))
    policy = parse_policy(text.encode(), source="policy.yaml")
    assert policy.check_count == 12 and policy.replay is not None
