"""A/B/n tests from the command line: start (short and long form), split, report, end, what
they print and their JSON, and every refusal as one line with its exit code."""

from __future__ import annotations

import json

import pytest
from support import cli_run, one_line_error, pass_validation

from modelkeep.keep import Keep
from modelkeep.registry.ab_tally import ArmTally, Moments
from modelkeep.registry.serving import VersionStats


@pytest.fixture
def three(project):
    for weights in (b"one", b"two", b"three"):
        (project / "model" / "model.bin").write_bytes(weights)
        cli_run("register", "m", "model")
    keep = Keep.open(project)
    pass_validation(keep, "m@1.0.0", "m@1.0.1", "m@1.0.2")  # deploys need a validation
    keep.close()
    cli_run("deploy", "m@1.0.0")
    return project


def test_a_test_from_start_to_winner(three):
    out = cli_run("deploy", "m", "--ab", "A=1.0.0,B=1.0.1,C=1.0.2", "--split", "50/25/25",
                  "--by", "header:X-User-Id").stdout
    assert out == ("m: A/B test started: A=1.0.0 50%, B=1.0.1 25%, C=1.0.2 25%, "
                   "sticky by header:X-User-Id\n")
    assert "A=1.0.0 50%, B=1.0.1 25%, C=1.0.2 25% (ab)" in cli_run("deploy", "status", "m").stdout
    assert cli_run("deploy", "split", "m", "60/40/0").stdout == \
        "m: split -> A=1.0.0 60%, B=1.0.1 40%, C=1.0.2 0%\n"
    report = cli_run("deploy", "report", "m").stdout
    assert "sample ratio" in report and "ok" in report and "sequential tests against A" in report
    data = json.loads(cli_run("deploy", "report", "m", "--json").stdout)
    assert [a["arm"] for a in data["arms"]] == ["A", "B", "C"] and data["control"] == "A"
    assert data["sample_ratio"]["expected_share"] == {"A": 0.6, "B": 0.4, "C": 0.0}
    out = cli_run("deploy", "promote", "m", code=4).output
    assert "deploy end m --winner LABEL" in out
    assert cli_run("deploy", "end", "m", "--winner", "B").stdout == \
        "m: A/B test ended, B won: 1.0.1 serves all traffic\n"
    assert "A=1.0.0, B=1.0.1, C=1.0.2 (ended)" in cli_run("deploy", "status", "m").stdout
    history = json.loads(cli_run("deploy", "history", "m", "--json").stdout)
    assert [e["action"] for e in history] == ["deploy", "ab-start", "ab-split", "ab-end"]


def test_the_report_shows_metrics_intervals_and_verdicts(three):
    event = json.loads(cli_run("deploy", "start", "m", "--ab", "A=1.0.0,B=1.0.1", "--json").stdout)
    seed = event["state"]["rollout"]["seed"]
    keep = Keep.open(str(three))
    try:
        def tally(errors: int) -> ArmTally:
            revenue = Moments(400, 800.0, 2000.0)
            return ArmTally(VersionStats(400, errors, 0), Moments(400, 400.0, 500.0), 0, 0,
                            {"revenue": revenue})
        keep.record_ab_tallies("m", seed, {("A", True): tally(4), ("B", True): tally(60)}, "g")
    finally:
        keep.close()
    out = cli_run("deploy", "report", "m").stdout
    assert "outcome:revenue" in out and "error_rate" in out and "yes" in out
    data = json.loads(cli_run("deploy", "report", "m", "--json").stdout)
    verdict = {c["metric"]: c for c in data["comparisons"]}
    assert verdict["error_rate"]["significant"] and not verdict["outcome:revenue"]["significant"]
    assert data["sample_ratio"]["observed"] == {"A": 400, "B": 400}  # no --by: requests


@pytest.mark.parametrize("args, code, fragment", [
    (["deploy", "m", "--ab", "A=1.0.0,B=9.9.9"], 3, "9.9.9"),
    (["deploy", "m", "--ab", "A=1.0.0,B=1.0.1", "--split", "50/40"], 2, "adds up to 90, not 100"),
    (["deploy", "m", "--ab", "A=1.0.0,B=1.0.1", "--split", "50/25/25"], 2, "3 parts for 2 arms"),
    (["deploy", "m", "--ab", "A=1.0.0,B=1.0.0"], 2, "its own label and its own version"),
    (["deploy", "m", "--ab", "A=1.0.0"], 2, "2 to 26 arms"),
    (["deploy", "m", "--ab", "A=1.0.0,B=1.0.1", "--canary"], 2, "--ab starts an A/B test"),
    (["deploy", "m", "--ab", "A=1.0.0,B=1.0.1", "--by", "body:x"], 2, "is not header:NAME"),
    (["deploy", "m@1.0.1", "--ab", "A=1.0.0,B=1.0.1"], 2, "name the model only"),
    (["deploy", "m@1.0.1", "--split", "50/50"], 2, "add --ab"),
    (["deploy", "nope", "--ab", "A=1.0.0,B=1.0.1"], 3, "model 'nope' not found"),
    (["deploy", "split", "m", "50/50"], 4, "no A/B test is running"),
    (["deploy", "end", "m", "--winner", "B"], 4, "no A/B test is running"),
    (["deploy", "report", "m"], 4, "m has had no A/B test"),
    (["deploy", "report", "m", "--alpha", "2"], 2, "--alpha"),
])
def test_bad_commands_are_one_line_with_their_exit_code(three, args, code, fragment):
    result = cli_run(*args, code=code)
    if "Usage:" in result.output:  # click's own usage errors: usage line, then the error
        assert fragment in result.output and "Traceback" not in result.output
    else:
        one_line_error(result, fragment)
    assert json.loads(cli_run("deploy", "status", "m", "--json").stdout)["rollout"] is None


def test_an_arm_not_validated_is_refused_unless_forced_with_a_reason(three):
    (three / "model" / "model.bin").write_bytes(b"four")
    cli_run("register", "m", "model")  # 1.0.3: never validated
    one_line_error(cli_run("deploy", "m", "--ab", "A=1.0.0,B=1.0.3", code=4),
                   "cannot deploy m@1.0.3: it has never been validated")
    assert "--reason" in cli_run("deploy", "m", "--ab", "A=1.0.0,B=1.0.3", "--force", code=2).output
    assert json.loads(cli_run("deploy", "status", "m", "--json").stdout)["rollout"] is None
    cli_run("deploy", "m", "--ab", "A=1.0.0,B=1.0.3", "--force", "--reason", "a quick look")
    started = json.loads(cli_run("deploy", "history", "m", "--json").stdout)[-1]
    assert started["action"] == "ab-start" and started["reason"] == "[forced] a quick look"


def test_a_second_test_or_rollout_while_one_runs_is_refused(three):
    cli_run("deploy", "m", "--ab", "A=1.0.0,B=1.0.1")
    assert "already running" in cli_run("deploy", "m", "--ab", "A=1.0.0,B=1.0.2", code=4).output
    forced = ("--force", "--reason", "checks the state, not the validation")
    out = cli_run("deploy", "m@1.0.2", "--canary", *forced, code=4).output
    assert "an A/B test of A=1.0.0, B=1.0.1 is already running" in out
    assert "modelkeep deploy end --winner LABEL|abort m" in out
    assert "an A/B test of A=1.0.0, B=1.0.1 is running" in cli_run(
        "deploy", "m@1.0.2", *forced, code=4).output
    assert "has no arm 'Z'" in cli_run("deploy", "end", "m", "--winner", "Z", code=2).output
    cli_run("deploy", "abort", "m")
    assert json.loads(cli_run("deploy", "status", "m", "--json").stdout)["split"] == {"1.0.0": 1.0}
