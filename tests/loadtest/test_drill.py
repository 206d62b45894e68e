"""``modelkeep drill`` end to end: a real gateway process, a rollback and a roll-forward under
load from Locust workers, the switch timed from each answer's version header, no failed
request, the result stored, and ``deploy status`` warning once the last drill is too old."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from emulators import free_port
from gateway_process import ECHO, GatewayProcess, make_keep, register_python
from support import cli_run, one_line_error

pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    keep = make_keep(tmp_path / "project")  # echo 1.0.0 and 1.0.1 (tags one, two)
    keep.deploy("echo@1.0.0")
    keep.deploy("echo@1.0.1")  # stable 1.0.1, rollback goes to 1.0.0
    monkeypatch.setenv("MODELKEEP_KEEP", str(keep.settings.root))
    gateway = GatewayProcess(keep.settings.root, "--poll-interval", "0.1")
    gateway.wait_ready()
    yield keep, gateway
    gateway.stop()
    keep.close()


def test_a_drill_rolls_back_and_forward_with_no_failed_request(project) -> None:
    keep, gateway = project
    result = cli_run("drill", "echo", "--gateway", gateway.url, "--rps", "40", "--hold", "2s",
                     "--json")
    drill = json.loads(result.stdout)
    assert drill["passed"] is True and drill["problems"] == []
    assert (drill["stable"], drill["restored"]) == ("1.0.1", "1.0.0")
    assert drill["failed"] == 0 and drill["requests"] >= 40 * 4 * 0.7
    # the gateway polls every 0.1 s: the first answer from the restored version within ~a poll
    assert 0 <= drill["rollback"]["first"] < 1.0 and drill["rollback"]["full"] is not None
    assert 0 <= drill["forward"]["first"] < 1.0 and drill["forward"]["full"] is not None
    assert drill["outputs_match"] is True and drill["outputs_checked"] == 1
    assert drill["reference_at"]  # recorded by this first drill
    # the model is back where it was, and the history shows the drill's two moves
    assert keep.deployment("echo").stable == "1.0.1"
    assert keep.deployment("echo").previous[0] == "1.0.0"
    moves = [(e.action, e.reason) for e in keep.deployment_history("echo")][-2:]
    assert moves == [("rollback", "drill: rollback under load"), ("deploy", "drill: roll forward")]
    assert gateway.predict("echo", {"x": [3]}).json()["outputs"]["tag"] == "two"
    # stored, with the reference outputs of 1.0.0 from its own loader
    stored = keep.drills("echo")
    assert [d.id for d in stored] == [drill["id"]] and stored[0].passed
    reference = keep.drill_reference("echo@1.0.0")
    assert reference is not None and reference.outputs == ({"tag": "one", "doubled": [2, 4]},)
    # a second drill compares with the same reference rather than recording a new one
    again = json.loads(cli_run("drill", "echo", "--gateway", gateway.url, "--rps", "20",
                               "--hold", "1s", "--json").stdout)
    assert again["passed"] and again["reference_at"] == reference.at
    assert keep.drill_reference("echo@1.0.0") == reference and len(keep.drills("echo")) == 2


def test_deploy_status_warns_when_the_last_drill_is_too_old(project) -> None:
    keep, gateway = project
    status = cli_run("deploy", "status", "echo")
    assert "last drill" in status.stdout and "never" in status.stdout
    assert "warning" not in status.stderr  # never drilled: no warning (drills are opt-in)
    cli_run("drill", "echo", "--gateway", gateway.url, "--rps", "20", "--hold", "1s")
    fresh = cli_run("deploy", "status", "echo", "--json")
    assert "warning" not in fresh.stderr
    assert json.loads(fresh.stdout)["drill"]["last"]["passed"] is True
    config = keep.settings.root / ".modelkeep" / "config.toml"
    config.write_text(config.read_text() + '\n[gateway]\ndrill_max_age = "1s"\n')
    time.sleep(1.2)
    old = cli_run("deploy", "status", "echo")
    assert old.stderr.startswith("warning: the last rollback drill of echo was")
    assert "drill_max_age 1s" in old.stderr and "modelkeep drill echo" in old.stderr
    config.write_text(config.read_text().replace('"1s"', '"soon"'))
    one_line_error(cli_run("deploy", "status", "echo", code=2), "drill_max_age 'soon'")


def test_drills_that_cannot_run_are_one_line_errors(project, tmp_path: Path) -> None:
    keep, gateway = project
    register_python(keep, "fresh", tmp_path / "fresh", ECHO.format(tag="f"), {"x": [1]})
    one_line_error(cli_run("drill", "fresh", "--gateway", gateway.url, code=4),
                   "cannot drill fresh: it has no stable version")
    keep.deploy("fresh@1.0.0")
    one_line_error(cli_run("drill", "fresh", "--gateway", gateway.url, code=4),
                   "1.0.0 is the only stable version")
    one_line_error(cli_run("drill", "nosuch", "--gateway", gateway.url, code=3), "nosuch")
    dead = f"http://127.0.0.1:{free_port()}"
    one_line_error(cli_run("drill", "echo", "--gateway", dead, code=6), "cannot reach")
    one_line_error(cli_run("drill", "echo", "--gateway", gateway.url, "--rps", "0", code=2),
                   "--rps 0 is not a rate")
    one_line_error(cli_run("drill", "echo", "--gateway", "file:///etc/passwd", code=2),
                   "is not an http(s) URL")
    keep.deploy("echo@1.0.0", canary=True)
    one_line_error(cli_run("drill", "echo", "--gateway", gateway.url, code=4),
                   "a rollout to 1.0.0 is running")
    assert keep.drills("echo") == [] and keep.deployment("echo").active_rollout is not None
