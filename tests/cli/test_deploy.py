"""``modelkeep deploy`` and ``rollback`` from the command line: what they print, their JSON, and
every refusal as one line with its exit code."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from support import cli_run, one_line_error, pass_validation

from modelkeep.cli.main import cli
from modelkeep.keep import Keep


@pytest.fixture
def deployed(project):
    cli_run("register", "m", "model")
    (project / "model" / "model.bin").write_bytes(b"retrained")
    cli_run("register", "m", "model")
    keep = Keep.open(project)
    pass_validation(keep, "m@1.0.0", "m@1.0.1")
    keep.close()
    cli_run("deploy", "m@1.0.0")
    return project


def _fail(*args: str, code: int) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_a_canary_from_start_to_promoted(deployed):
    assert cli_run("deploy", "m@1.0.1", "--canary", "--steps", "10,50,100",
                   "--by", "header:X-User-Id").stdout == "m: start -> 1.0.0 90%, 1.0.1 10%\n"
    status = cli_run("deploy", "status", "m").stdout
    assert "canary, step 1 of 3" in status and "sticky by" in status and "header:X-User-Id" in status
    assert cli_run("deploy", "promote", "m").stdout == "m: promote -> 1.0.0 50%, 1.0.1 50%\n"
    cli_run("deploy", "pause", "m", "--reason", "looking at p99")
    assert "(paused)" in cli_run("deploy", "status", "m").stdout
    cli_run("deploy", "resume", "m")
    assert cli_run("deploy", "promote", "m").stdout == "m: promote -> 1.0.1 100%\n"
    data = json.loads(cli_run("deploy", "status", "m", "--json").stdout)
    assert data["stable"] == "1.0.1" and data["previous"] == ["1.0.0"]
    assert data["rollout"]["phase"] == "promoted" and data["split"] == {"1.0.1": 1.0}
    history = json.loads(cli_run("deploy", "history", "m", "--json").stdout)
    assert [e["action"] for e in history] == ["deploy", "start", "promote", "pause", "resume",
                                              "promote"]
    assert history[3]["reason"] == "looking at p99"


def test_start_may_be_named_and_shadow_comes_first(deployed):
    out = cli_run("deploy", "start", "m@1.0.1", "--shadow", "--shadow-percent", "10", "--json").stdout
    event = json.loads(out)
    assert event["action"] == "start" and event["state"]["rollout"]["phase"] == "shadow"
    assert "10% of requests copied" in cli_run("deploy", "status", "m").stdout
    assert cli_run("deploy", "promote", "m", "--full").stdout == "m: promote-full -> 1.0.1 100%\n"


def test_rollback_after_promotion_and_abort_of_a_running_rollout(deployed):
    cli_run("deploy", "m@1.0.1", "--canary")
    assert cli_run("deploy", "abort", "m").stdout == "m: abort -> 1.0.0 100%\n"
    cli_run("deploy", "m@1.0.1")
    assert cli_run("rollback", "m", "--reason", "errors").stdout == "m: rollback -> 1.0.0 100%\n"
    table = cli_run("deploy", "history", "m").stdout
    assert "rollback" in table and "errors" in table


@pytest.mark.parametrize("args, code, fragment", [
    (["deploy", "promote", "m"], 4, "cannot promote m: no rollout is running"),
    (["rollback", "m"], 4, "1.0.0 is the only stable version"),
    (["deploy", "m@1.0.0"], 4, "1.0.0 is already the stable version"),
    (["deploy", "m@9.9.9", "--canary"], 3, "not found"),
    (["deploy", "nope@1.0.0"], 3, "model 'nope' not found"),
    (["deploy", "status", "nope"], 3, "model 'nope' not found"),
    (["deploy", "m@1.0.1", "--canary", "--steps", "50,25,100"], 2, "not rising percents"),
    (["deploy", "m@1.0.1", "--canary", "--by", "body:uid"], 2, "is not header:NAME"),
    (["deploy", "m@1.0.1", "--by", "header:X-User-Id"], 2, "add --canary or --shadow"),
    (["deploy", "m@1.0.1", "--window", "60"], 2, "add --canary or --shadow"),
    (["deploy", "m@1.0.1", "--min-requests", "5"], 2, "add --canary or --shadow"),
    (["deploy", "m@1.0.1", "--canary", "--max-p99-ratio", "0.5"], 2, "gate limits"),
    (["deploy", "m@1.0.1", "--canary", "--window", "-1"], 2, "is not a number of seconds"),
    (["deploy", "m@1.0.1", "--shadow", "--shadow-percent", "0"], 2, "not in (0, 100]"),
])
def test_refusals_are_one_line_with_their_exit_code(deployed, args, code, fragment):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == code, result.output
    one_line_error(result, fragment)


def test_a_second_rollout_is_refused_and_names_the_running_one(deployed):
    cli_run("deploy", "m@1.0.1", "--canary")
    result = CliRunner().invoke(cli, ["deploy", "m@1.0.1", "--canary"])
    assert result.exit_code == 4
    one_line_error(result, "a rollout to 1.0.1 is already running")


def test_usage_errors_are_clicks(deployed):
    assert "is neither a deploy subcommand nor NAME@VERSION; did you mean 'status'?" in _fail(
        "deploy", "statsu", "m", code=2)
    assert "not comma-separated percents" in _fail("deploy", "m@1.0.1", "--canary", "--steps",
                                                   "5,x", code=2)
    assert "Commands" in cli_run("deploy", "--help").stdout
