"""``modelkeep deploy NAME --shadow VERSION``, ``--shadow-first``, ``--blue-green``, ``--gate``,
``--force`` and ``deploy shadow-report`` from the command line: what they print, their JSON,
and every refusal as one line with its exit code."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from support import cli_run, one_line_error, pass_validation

from modelkeep.cli.main import cli
from modelkeep.keep import Keep
from modelkeep.registry import agreement
from modelkeep.registry.shadow_stats import ShadowBatch, ShadowStats


@pytest.fixture
def deployed(project):
    cli_run("register", "m", "model")
    (project / "model" / "model.bin").write_bytes(b"retrained")
    cli_run("register", "m", "model")
    (project / "model" / "model.bin").write_bytes(b"never validated")
    cli_run("register", "m", "model")
    keep = Keep.open(project)
    pass_validation(keep, "m@1.0.0", "m@1.0.1")
    keep.close()
    cli_run("deploy", "m@1.0.0")
    return project


def _state(*args: str) -> dict:
    return json.loads(cli_run(*args, "--json").stdout)["state"]


def test_a_shadow_test_by_name_and_version_with_a_percent(deployed):
    state = _state("deploy", "m", "--shadow", "1.0.1", "--percent", "10")
    assert state["rollout"]["phase"] == "shadow" and state["rollout"]["shadow_percent"] == 10
    assert state["rollout"]["candidate"] == "1.0.1" and state["rollout"]["shadow_window"] == 0
    status = cli_run("deploy", "status", "m").stdout
    assert "10% of requests copied, moved on by hand" in status
    cli_run("deploy", "abort", "m")
    assert _state("deploy", "m", "--shadow=1.0.1")["rollout"]["shadow_percent"] == 100


def test_shadow_first_then_canary_with_a_window_a_tolerance_and_gates(deployed):
    state = _state("deploy", "m@1.0.1", "--canary", "--shadow-first", "--shadow-window", "1h",
                   "--tolerance", "1e-6", "--gate", "agreement >= 0.99",
                   "--gate", "accuracy >= stable - 0.01", "--min-feedback", "50")
    rollout = state["rollout"]
    assert (rollout["phase"], rollout["shadow_window"], rollout["tolerance"]) == ("shadow", 3600, 1e-6)
    assert rollout["gates"]["expressions"] == ["agreement >= 0.99", "accuracy >= stable - 0.01"]
    assert rollout["gates"]["min_feedback"] == 50
    status = cli_run("deploy", "status", "m").stdout
    assert "watched 3600 s before the canary steps" in status
    assert "gate agreement >= 0.99" in status and "waiting" in status
    assert "gate accuracy" not in status  # judges the canary steps, not the shadow phase
    assert cli_run("deploy", "promote", "m").stdout == "m: promote -> 1.0.0 95%, 1.0.1 5%\n"


def test_blue_green_loads_first_and_rolls_back(deployed):
    assert cli_run("deploy", "m@1.0.1", "--blue-green").stdout == "m: start -> 1.0.0 100%\n"
    assert "blue-green" in cli_run("deploy", "status", "m").stdout
    assert cli_run("deploy", "promote", "m").stdout == "m: promote -> 1.0.1 100%\n"
    assert cli_run("rollback", "m").stdout == "m: rollback -> 1.0.0 100%\n"


def test_an_unvalidated_version_needs_force_and_a_reason(deployed):
    result = CliRunner().invoke(cli, ["deploy", "m@1.0.2", "--canary"])
    assert result.exit_code == 4
    one_line_error(result, "cannot deploy m@1.0.2: it has never been validated")
    result = CliRunner().invoke(cli, ["deploy", "m@1.0.2", "--force"])
    assert result.exit_code == 2
    one_line_error(result, "needs a --reason")
    cli_run("deploy", "m@1.0.2", "--force", "--reason", "hotfix")
    history = json.loads(cli_run("deploy", "history", "m", "--json").stdout)
    assert history[-1]["reason"] == "[forced] hotfix"


def test_the_shadow_report_in_text_and_json(deployed):
    cli_run("deploy", "m", "--shadow", "1.0.1")
    keep = Keep.open(deployed)
    seed = keep.deployment("m").rollout.seed
    distances = [0] * agreement.BUCKETS
    distances[0], distances[agreement.bucket_of(0.004)] = 3, 1  # 3 equal, 1 off by 0.4%
    stats = ShadowStats(copies=4, compared=4, distances=tuple(distances))
    keep.record_shadow_stats("m", [ShadowBatch(seed, "1.0.0", "1.0.1", stats)], "g")
    keep.close()
    data = json.loads(cli_run("deploy", "shadow-report", "m", "--json").stdout)
    assert (data["copies"], data["agreeing"], data["agreement"]) == (4, 3, 0.75)
    assert json.loads(cli_run("deploy", "shadow-report", "m", "--tolerance", "0.01",
                              "--json").stdout)["agreement"] == 1.0
    text = cli_run("deploy", "shadow-report", "m").stdout
    assert "3 of 4 (75.00%) within 0 (exact)" in text and "1.0.1 beside 1.0.0" in text


@pytest.mark.parametrize("args, code, fragment", [
    (["deploy", "m", "--shadow", "9.9.9"], 3, "not found"),
    (["deploy", "shadow-report", "m"], 4, "has had no shadow test"),
    (["deploy", "shadow-report", "m", "--tolerance", "-1"], 2, "is not a number at least 0"),
    (["deploy", "m@1.0.1", "--blue-green", "--canary"], 2, "choose one"),
    (["deploy", "m@1.0.1", "--blue-green", "--shadow"], 2, "has no shadow phase"),
    (["deploy", "m@1.0.1", "--canary", "--gate", "accuracy >="], 2, "gate 'accuracy >='"),
    (["deploy", "m@1.0.1", "--canary", "--gate", "os.system >= 1"], 2, "'os' is neither"),
    (["deploy", "m@1.0.1", "--canary", "--min-feedback", "0"], 2, "--min-feedback"),
    (["deploy", "m@1.0.1", "--tolerance", "0.1"], 2, "add --canary or --shadow"),
    (["deploy", "m@1.0.1", "--canary", "--tolerance", "-1"], 2, "tolerance -1.0"),
])
def test_refusals_are_one_line_with_their_exit_code(deployed, args, code, fragment):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == code, result.output
    one_line_error(result, fragment)


@pytest.mark.parametrize("args, fragment", [
    (["deploy", "m@1.0.1", "--shadow", "1.0.1"], "give the shadow's version once"),
    (["deploy", "m", "--canary"], "neither a deploy subcommand nor NAME@VERSION"),
    (["deploy", "m@1.0.1", "--shadow-first"], "add --canary"),
    (["deploy", "m@1.0.1", "--canary", "--shadow-first", "--shadow-window", "soon"], "not a duration"),
    (["deploy", "m@1.0.1", "--canary", "--shadow-first", "--shadow-window", "-5m"], "not a duration"),
])
def test_usage_errors(deployed, args, fragment):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and fragment in result.output, result.output
