"""``modelkeep validate`` as CI runs it: a real process, exit codes, JUnit XML read by real
consumers (Jenkins' junit-10.xsd through lxml, and junitparser), the JSON report, and every
bad input as one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import cli_run, one_line_error

SCHEMA = Path(__file__).parents[1] / "registry" / "validation" / "junit-10.xsd"
POLICY = """\
# the gate (comments welcome)
required: [description, technical.framework.name]
metrics:
  - accuracy >= 0.9
  - accuracy >= production.accuracy - 0.005
"""


def modelkeep(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "modelkeep", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=120)


@pytest.fixture
def gated(project):
    (project / "model.yaml").write_text(
        "name: m\nversion: 1.0.0\ndescription: demo\ntechnical: {framework: {name: sklearn}}\n")
    cli_run("register", "m", "model", "--metadata", "model.yaml", "--metric", "accuracy=0.92")
    cli_run("alias", "set", "m", "production", "1.0.0", "--force", "--reason", "first release")
    (project / "model" / "model.bin").write_bytes(b"retrained")
    cli_run("register", "m", "model", "--metric", "accuracy=0.85")
    (project / "policy.yaml").write_text(POLICY)
    return project


def junit_checked(path: Path):
    """The JUnit file, valid against Jenkins' schema and read back by junitparser."""
    from junitparser import JUnitXml
    from lxml import etree

    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    document = etree.parse(str(path))
    assert schema.validate(document), schema.error_log
    return JUnitXml.fromfile(str(path))


def test_a_failing_version_exits_1_with_reports(gated):
    result = modelkeep("validate", "m@1.0.1", "--policy", "policy.yaml", "--junit", "junit.xml",
                       "--report-json", "report.json", cwd=gated)
    assert result.returncode == 1, result.stderr
    assert "accuracy >= 0.9" in result.stdout and "FAIL" in result.stdout
    assert "0.85 >= 0.9 (accuracy = 0.85)" in result.stdout
    assert "FAILED: 2 of 4 checks" in result.stdout
    suites = junit_checked(gated / "junit.xml")
    (suite,) = list(suites)
    assert (suite.name, suite.tests, suite.failures, suite.errors) == ("m@1.0.1", 4, 2, 0)
    cases = {case.name: case for case in suite}
    assert cases["required description"].is_passed
    failed = cases["accuracy >= production.accuracy - 0.005"]
    assert not failed.is_passed and failed.result[0].type == "metric"
    assert "0.85 >= 0.915" in failed.result[0].message
    report = json.loads((gated / "report.json").read_text())
    assert report["passed"] is False and len(report["checks"]) == 4
    properties = {p.name: p.value for p in suite.properties()}
    assert properties == {"policy": "policy.yaml", "policy_hash": report["policy_hash"],
                          "passed": "false"}
    refused = modelkeep("alias", "set", "m", "production", "1.0.1", cwd=gated)
    assert refused.returncode == 4
    assert "m@1.0.1 failed its latest validation" in refused.stderr


def test_a_passing_version_exits_0_and_opens_production(gated):
    cli_run("metric", "m@1.0.1", "accuracy=0.95")  # a later evaluation: appended, latest wins
    out = cli_run("validate", "m@1.0.1", "--policy", "policy.yaml", "--json")
    report = json.loads(out.stdout)
    assert report["passed"] is True and report["ref"] == "m@1.0.1"
    assert [c["passed"] for c in report["checks"]] == [True] * 4
    show = json.loads(cli_run("show", "m@1.0.1", "--json").stdout)
    (record,) = [r for r in show["records"] if r["kind"] == "validation"]
    assert record["key"] == report["policy_hash"] and record["value"]["passed"] is True
    cli_run("alias", "set", "m", "production", "1.0.1", "--reason", "validated")
    history = json.loads(cli_run("alias", "history", "m", "production", "--json").stdout)
    assert [(h["version"], h["forced"], h["reason"]) for h in history] == [
        ("1.0.0", True, "[forced] first release"), ("1.0.1", False, "validated")]


@pytest.mark.parametrize(("args", "policy", "code", "fragments"), [
    (["m@1.0.1"], "metrics: [accuracy >= = 0.9]\n", 2,
     ["policy.yaml line 1: metrics[0] 'accuracy >= = 0.9': unexpected '=' at position 13"]),
    (["m@1.0.1"], "{}\n", 2, ["defines no checks"]),
    (["m@1.0.1"], "metricz: [a > 1]\n", 2, ["unknown policy key 'metricz'; did you mean 'metrics'?"]),
    (["m@9.0.0"], POLICY, 3, ["m@9.0.0"]),
    (["nosuch@1.0.0"], POLICY, 3, ["nosuch"]),
    (["m@1.0.1", "--junit", "no/such/dir/j.xml"], POLICY, 2, ["--junit no/such/dir/j.xml"]),
    (["m@1.0.1"], "replay: {file: missing.jsonl}\n", 2, ["cannot read replay file"]),
])
def test_bad_input_is_one_line_and_stores_nothing(gated, args, policy, code, fragments):
    (gated / "policy.yaml").write_text(policy)
    result = cli_run("validate", *args, "--policy", "policy.yaml", code=code)
    one_line_error(result, *fragments)
    show = json.loads(cli_run("show", "m@1.0.1", "--json").stdout)
    assert not [r for r in show["records"] if r["kind"] == "validation"]
    assert not (gated / "no").exists()


def test_missing_policy_file_is_one_line(gated):
    one_line_error(cli_run("validate", "m@1.0.1", "--policy", "nope.yaml", code=2),
                   "cannot read policy nope.yaml")


def test_force_without_reason_is_refused(gated):
    one_line_error(cli_run("alias", "set", "m", "production", "1.0.1", "--force", code=2),
                   "--force on m@production needs a --reason")
