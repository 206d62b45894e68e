"""The run, runs and datasets commands end to end, including bad input and exit codes."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelkeep.cli.main import cli

MAIN = "from modelkeep.cli.main import main; main()"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MODELKEEP_RUN_ID", raising=False)
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text("a\n1\n")
    return tmp_path


def mk(*args: str, ok: bool = True, env: dict[str, str] | None = None):
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def start(*extra: str) -> str:
    return mk("run", "start", "--model", "bert", "--no-capture", *extra).stdout.strip()


def test_start_log_end_and_read(project: Path) -> None:
    started = mk("run", "start", "--model", "bert", "--name", "cli", "--param", "lr=0.01")
    run_id = started.stdout.strip()
    assert f"export MODELKEEP_RUN_ID={run_id}" in started.stderr
    mk("run", "log", "--run", run_id[:8], "--metric", "loss=0.5", "--metric", "loss=0.25@7",
       "--metric", "acc=nan", "--param", "bs=32", "--tag", "team=nlp")
    mk("run", "log", "--dataset", "data", "--role", "validation",
       env={"MODELKEEP_RUN_ID": run_id})
    view = json.loads(mk("runs", "show", run_id, "--json").stdout)
    assert view["params"] == {"bs": 32, "lr": 0.01} and view["tags"] == {"team": "nlp"}
    series = {m["name"]: m for m in view["metrics"]}
    assert series["loss"]["points"] == 2 and series["loss"]["last_value"] == 0.25
    assert series["acc"]["last_value"] == "NaN"
    assert view["datasets"][0]["role"] == "validation"
    assert view["environment"]["python"]["version"]
    text = mk("runs", "show", run_id[:6]).stdout
    assert "bs" in text and "nan" in text
    assert "finished" in mk("run", "end", "--run", run_id).stdout
    assert json.loads(mk("runs", "list", "--json").stdout)[0]["status"] == "finished"


def test_list_filters_and_compare(project: Path) -> None:
    a = start("--name", "a", "--param", "lr=0.1")
    b = start("--name", "b", "--param", "lr=0.01")
    mk("run", "log", "--run", a, "--metric", "acc=0.8")
    mk("run", "log", "--run", b, "--metric", "acc=0.95")
    listed = json.loads(mk("runs", "list", "--param", "lr=0.01", "--metric", "acc>0.9",
                           "--json").stdout)
    assert [r["name"] for r in listed] == ["b"]
    table = mk("runs", "list", "--metric", "acc>0.5").stdout
    assert "acc" in table and "0.95" in table
    assert "No runs match" in mk("runs", "list", "--model", "nope").stdout
    compared = json.loads(mk("runs", "compare", a, b, "--json").stdout)
    assert compared["changed"] == {"params": ["lr"], "metrics": ["acc"]}
    shown = mk("runs", "compare", a[:8], b[:8]).stdout
    assert "* param lr" in shown and "* metric acc" in shown


def test_metric_history_export_and_plot(project: Path) -> None:
    run_id = start()
    for step, value in enumerate(["1", "0.5", "nan", "0.25"]):
        mk("run", "log", "--run", run_id, "--metric", f"loss={value}@{step}")
    rows = list(csv.DictReader(io.StringIO(mk("runs", "metrics", run_id, "loss").stdout)))
    assert [r["value"] for r in rows] == ["1.0", "0.5", "NaN", "0.25"]
    mk("runs", "metrics", run_id, "loss", "--format", "json", "-o", "loss.json")
    points = json.loads((project / "loss.json").read_text())["points"]
    assert math.isnan(float(points[2]["value"])) and points[3]["step"] == 3
    plot = mk("runs", "metrics", run_id, "loss", "--plot").stdout
    assert "█" in plot and "·" in plot and "NaN 1" in plot


def test_datasets_list_and_show(project: Path) -> None:
    a, b = start(), start()
    for run_id in (a, b):
        mk("run", "log", "--run", run_id, "--dataset", "data")
    listed = json.loads(mk("datasets", "list", "--json").stdout)
    assert len(listed) == 1 and listed[0]["runs"] == 2
    shown = mk("datasets", "show", "data").stdout
    assert a[:8] in shown and b[:8] in shown
    assert "No datasets" not in mk("datasets", "list").stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["run", "log", "--metric", "acc=1"], 2, "no run given"),
        (["run", "log", "--run", "ffffffff", "--metric", "acc=1"], 3, "not found"),
        (["run", "log", "--run", "RUN", "--metric", "acc=high"], 2, "expected NAME=NUMBER"),
        (["run", "log", "--run", "RUN", "--metric", "acc=1@x"], 2, "expected NAME=NUMBER"),
        (["run", "log", "--run", "RUN", "--metric", "=1"], 2, "expected KEY=VALUE"),
        (["run", "log", "--run", "RUN", "--metric", "x" * 300 + "=1"], 2, "invalid metric name"),
        (["run", "log", "--run", "RUN", "--dataset", "gone"], 2, "does not exist"),
        (["run", "log", "--run", "RUN", "--param", "lr=0.1"], 2, "already"),
        (["runs", "list", "--metric", "acc>x"], 2, "not a number"),
        (["runs", "list", "--metric", "acc"], 2, "expected NAME OP VALUE"),
        (["runs", "show", "zzzz"], 3, "run 'zzzz' not found"),
        (["runs", "metrics", "RUN", "nope"], 3, "has no metric"),
        (["runs", "compare", "RUN"], 2, "at least two"),
        (["datasets", "show", "nothing"], 3, "not found"),
        (["run", "start", "--model", "bad name"], 2, "invalid model name"),
    ],
)
def test_bad_input_one_line_hint_exit_code(project: Path, args: list[str], code: int,
                                           message: str) -> None:
    run_id = start("--param", "lr=0.5")
    result = mk(*[run_id if a == "RUN" else a for a in args], ok=False)
    assert result.exit_code == code, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert "hint:" in result.stderr or code == 3
    json_err = mk(*[run_id if a == "RUN" else a for a in args], "--json", ok=False)
    if json_err.exit_code == code and json_err.stderr.startswith("{"):
        assert json.loads(json_err.stderr)["error"]["message"]


def test_logging_to_an_ended_run_exits_4(project: Path) -> None:
    run_id = start()
    mk("run", "end", "--run", run_id, "--status", "failed")
    result = mk("run", "log", "--run", run_id, "--metric", "acc=1", ok=False)
    assert result.exit_code == 4 and "already ended" in result.stderr
    again = mk("run", "end", "--run", run_id, ok=False)
    assert again.exit_code == 4


def test_exec_wraps_a_command(project: Path) -> None:
    (project / "train.py").write_text(
        "import sys, time, modelkeep\n"
        "with modelkeep.start_run() as run:\n"
        "    run.log_metric('loss', 0.5)\n"
        "    for i in range(80):\n"
        "        print('line', i, flush=True)\n"
        "time.sleep(0.3)\n"  # the two pipes are read apart: let stdout drain first
        "print('oops', file=sys.stderr)\n"
        "sys.exit(int(sys.argv[1]))\n")
    proc = subprocess.run([sys.executable, "-c", MAIN, "run", "exec", "--model",
                           "bert", "--", sys.executable, "train.py", "3"],
                          capture_output=True, text=True, cwd=project, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert "line 79" in proc.stdout and "oops" in proc.stderr  # passed through
    runs = json.loads(mk("runs", "list", "--json").stdout)
    assert len(runs) == 1  # the child attached instead of starting its own run
    view = json.loads(mk("runs", "show", runs[0]["id"], "--json").stdout)
    assert view["status"] == "failed" and view["exit_code"] == 3 and view["model"] == "bert"
    tail = view["output_tail"].splitlines()
    assert len(tail) == 50 and tail[-1] == "oops" and tail[-2] == "line 79"
    assert view["metrics"][0]["name"] == "loss"
    assert view["pipeline"]["command"][-2:] == ["train.py", "3"]
    missing = mk("run", "exec", "--", "no-such-command-here", ok=False)
    assert missing.exit_code == 2 and "cannot run" in missing.stderr


def test_exec_forwards_sigterm_and_marks_the_run_killed(project: Path) -> None:
    import signal

    child = "import time; print('ready', flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", MAIN, "run", "exec", "--model", "m", "--",
                             sys.executable, "-c", child], cwd=project, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    view = json.loads(mk("runs", "list", "--json").stdout)[0]
    assert view["status"] == "killed" and view["exit_code"] == -signal.SIGTERM
