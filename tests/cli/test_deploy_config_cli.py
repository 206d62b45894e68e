"""``modelkeep deploy --config/--timeout/--env`` and ``deploy history [--at] [--json]`` from the
command line: the configuration recorded and restored by rollback, the replay, and every bad
input as one line with its exit code and nothing written."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner
from support import cli_run, one_line_error, pass_validation

from modelkeep.cli.main import cli
from modelkeep.keep import Keep


@pytest.fixture
def two(project):
    cli_run("register", "m", "model")
    (project / "model" / "model.bin").write_bytes(b"retrained")
    cli_run("register", "m", "model")
    keep = Keep.open(project)
    pass_validation(keep, "m@1.0.0", "m@1.0.1")  # deploys need a validation
    keep.close()
    return project


def _history(*args: str) -> list[dict]:
    return json.loads(cli_run("deploy", "history", "m", "--json", *args).stdout)


def test_configuration_from_file_and_flags_is_recorded_and_restored_by_rollback(two):
    (two / "v1.yaml").write_text("loader: {timeout: 2}\nenvironment: {FOO: '1', BAR: keep}\n")
    cli_run("deploy", "m@1.0.0", "--config", "v1.yaml")
    time.sleep(0.01)
    out = cli_run("deploy", "m@1.0.1", "--timeout", "5", "--env", "FOO=2", "--threads", "3",
                  "--isolation", "process", "--json").stdout
    v2 = json.loads(out)["state"]["configs"]["1.0.1"]
    assert v2["loader"] == {"timeout": 5.0, "threads": 3, "isolation": "process"}
    assert v2["environment"] == {"FOO": "2"}
    time.sleep(0.01)
    cli_run("rollback", "m", "--reason", "p99 up")
    text = cli_run("deploy", "status", "m").stdout
    assert "timeout 2 s" in text and "env BAR, FOO" in text and "keep" not in text
    status = json.loads(cli_run("deploy", "status", "m", "--json").stdout)
    assert status["stable"] == "1.0.0"
    assert status["configs"]["1.0.0"]["loader"]["timeout"] == 2.0
    assert status["configs"]["1.0.0"]["environment"] == {"BAR": "keep", "FOO": "1"}
    # flags win over the file; the stable version again with another configuration: configure
    assert cli_run("deploy", "m@1.0.0", "--config", "v1.yaml", "--env", "FOO=3").stdout \
        == "m: configure -> 1.0.0 100%\n"
    periods = _history()
    assert [p["action"] for p in periods] == ["deploy", "deploy", "rollback", "configure"]
    assert periods[3]["changes"] == ["1.0.0 environment.FOO 1 -> 3"]
    assert sorted(periods[2]["involved"]) == ["1.0.0", "1.0.1"] and periods[2]["reason"] == "p99 up"


def test_history_at_a_moment_and_as_a_table(two):
    cli_run("deploy", "m@1.0.0", "--timeout", "2")
    time.sleep(0.01)
    cli_run("deploy", "m@1.0.1", "--canary", "--steps", "10,100")
    time.sleep(0.01)
    cli_run("deploy", "promote", "m")
    periods = _history()
    canary = periods[1]
    assert canary["split"] == {"1.0.0": 0.9, "1.0.1": pytest.approx(0.1)}
    assert canary["candidate"] == "1.0.1" and canary["phase"] == "canary"
    assert canary["until"] == periods[2]["at"] and periods[2]["until"] is None
    assert "1.0.1 traffic 0% -> 10%" in canary["changes"]
    at = _history("--at", canary["at"])
    assert [p["revision"] for p in at] == [canary["revision"]]
    assert at[0]["configs"]["1.0.0"]["loader"]["timeout"] == 2.0
    assert _history("--at", "2001-01-01") == []
    assert "nothing was deployed at 2001-01-01" in cli_run("deploy", "history", "m", "--at",
                                                           "2001-01-01").stdout
    table = cli_run("deploy", "history", "m").stdout
    assert "configure" not in table and "promote" in table and "1.0.1 traffic 10% -> 100%" in table


BAD = [
    (["deploy", "m@1.0.0", "--config", "missing.yaml"], 2, "cannot be read"),
    (["deploy", "m@1.0.0", "--config", "bad.yaml"], 2, "unknown key loader.memory"),
    (["deploy", "m@1.0.0", "--env", "NOEQUALS"], 2, "is not KEY=VALUE"),
    (["deploy", "m@1.0.0", "--env", "1BAD=x"], 2, "is not a name"),
    (["deploy", "m@1.0.0", "--env", "MODELKEEP_KEEP=/tmp"], 2, "modelkeep's own"),
    (["deploy", "m@1.0.0", "--timeout", "0"], 2, "positive number of seconds"),
    (["deploy", "m@1.0.0", "--timeout", "inf"], 2, "positive number of seconds"),
    (["deploy", "m@1.0.0", "--threads", "0"], 2, "whole number"),
    (["deploy", "m@1.0.0", "--isolation", "vm"], 2, "vm"),
    (["deploy", "history", "m", "--at", "last tuesday"], 2, "invalid time"),
    (["deploy", "history", "nosuch"], 3, "nosuch"),
]


@pytest.mark.parametrize(("args", "code", "text"), BAD)
def test_bad_input_is_one_line_and_writes_nothing(two, args, code, text):
    (two / "bad.yaml").write_text("loader: {memory: 3}\n")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == code, result.output
    assert text in result.output
    if "NOEQUALS" not in args and "vm" not in args:  # click's own usage errors aside
        one_line_error(result, text)
    assert json.loads(cli_run("deploy", "status", "m", "--json").stdout)["revision"] == 0
