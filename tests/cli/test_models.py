"""The CLI end to end: happy paths, --json, and every bad input -> one line, hint, exit code."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import cli_run as run

from modelkeep.cli.main import cli


def test_register_list_show_json(project):
    out = run("register", "bert", "model", "--param", "lr=0.01", "--metric", "acc=0.9", "--json")
    info = json.loads(out.stdout)
    assert info["version"] == "1.0.0" and info["files"] == 2
    models = json.loads(run("list", "--json").stdout)
    assert [(m["name"], m["latest"]) for m in models] == [("bert", "1.0.0")]
    view = json.loads(run("show", "bert@1.0.0", "--json").stdout)
    assert view["params"] == {"lr": 0.01} and view["metrics"] == {"acc": 0.9}
    versions = json.loads(run("list", "bert", "--json").stdout)
    assert [v["version"] for v in versions] == ["1.0.0"]


def test_alias_flow_and_show_at(project):
    run("register", "m", "model")
    run("register", "m", "model", "--bump", "minor", "--allow-same")
    Path("policy.yaml").write_text("required: [name]\n")  # production is protected
    run("validate", "m@1.0.0", "--policy", "policy.yaml")
    run("alias", "set", "m", "production", "1.0.0")
    moved = json.loads(run("alias", "history", "m", "production", "--json").stdout)[0]["moved_at"]
    run("alias", "set", "m", "production", "1.1.0", "--force", "--reason", "hotfix")
    assert json.loads(run("show", "m@production", "--json").stdout)["version"] == "1.1.0"
    then = json.loads(run("show", "m@production", "--at", moved, "--json").stdout)
    assert then["version"] == "1.0.0"
    history = json.loads(run("alias", "history", "m", "production", "--json").stdout)
    assert [h["version"] for h in history] == ["1.0.0", "1.1.0"]


def test_nan_metric_is_shown_as_nan(project):
    run("register", "m", "model", "--metric", "loss=nan", "--metric", "ppl=inf")
    view = json.loads(run("show", "m", "--json").stdout)
    assert view["metrics"] == {"loss": "NaN", "ppl": "Infinity"}


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["register", "m", "model", "--version", "1.2"], 2, "invalid version '1.2'"),
        (["register", "m", "missing-folder"], 2, "does not exist"),
        (["register", "bad name", "model"], 2, "invalid model name"),
        (["register", "m", "model", "--param", "lr"], 2, "expected KEY=VALUE"),
        (["register", "m", "model", "--metric", "acc=high"], 2, "must be a number"),
        (["show", "nope@1.0.0"], 3, "model 'nope' not found"),
        (["show", "m@2.0.0"], 3, "m@2.0.0 not found"),
        (["show", "m@production"], 3, "alias 'production' of m is not set"),
        (["show", "m@1.0.0", "--at", "yesterday"], 2, "invalid time 'yesterday'"),
        (["alias", "set", "m", "latest", "1.0.0"], 2, "reserved"),
        (["register", "m", "model", "--version", "1.0.0"], 4, "already exists"),
    ],
)
def test_bad_input_one_line_hint_exit_code(project, args, code, message):
    run("register", "m", "model")
    before = sorted(p.name for p in (project / ".modelkeep" / "objects").rglob("*"))
    result = run(*args, code=None)
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and message in lines[0]
    assert len(lines) <= 2 and (len(lines) == 1 or lines[1].startswith("hint: "))
    assert "Traceback" not in result.output
    after = sorted(p.name for p in (project / ".modelkeep" / "objects").rglob("*"))
    assert after == before  # nothing written
    assert len(json.loads(run("list", "m", "--json").stdout)) == 1


def test_errors_as_json_with_json_flag(project):
    result = run("show", "nope", "--json", code=None)
    body = json.loads(result.stderr)
    assert body["error"]["code"] == "model_not_found"
    assert body["error"]["hint"]


def test_not_initialised_keep_is_a_clear_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "modelkeep", "list"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 3
    assert proc.stderr.startswith("error: no modelkeep keep in")
    assert "hint: run 'modelkeep init'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_init_twice_is_refused(project):
    result = run("init", code=None)
    assert result.exit_code == 4 and "already exists" in result.stderr


def test_unknown_command_suggests(project):
    result = CliRunner().invoke(cli, ["regster"])
    assert result.exit_code == 2 and "Did you mean 'register'" in result.output


def test_checkout_and_fsck(project):
    run("register", "m", "model")
    out = run("checkout", "m@1.0.0", "restored")
    assert "2 written" in out.stdout
    assert (project / "restored" / "model.bin").read_bytes() == b"weights-v1"
    again = run("checkout", "m@1.0.0", "restored")
    assert "2 unchanged" in again.stdout
    assert json.loads(run("fsck", "--json").stdout)["ok"] is True


def test_fsck_names_affected_versions(project):
    run("register", "m", "model")
    objects = [p for p in (project / ".modelkeep" / "objects").rglob("*") if p.is_file()]
    victim = max(objects, key=lambda p: p.stat().st_size)
    victim.chmod(0o644)
    victim.write_bytes(b"rot")
    result = run("fsck", code=None)
    assert result.exit_code == 5
    assert "affected m@1.0.0" in result.stdout


def test_keep_option_from_another_folder(project, tmp_path_factory):
    run("register", "m", "model")
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    proc = subprocess.run([sys.executable, "-m", "modelkeep", "--keep", str(project), "list",
                           "--json"], cwd=elsewhere, capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout)[0]["name"] == "m"
    assert Path(project / ".modelkeep" / "modelkeep.db").exists()


def test_checkout_without_ref_restores_pointers(project):
    run("add", "model/model.bin")
    (project / "model" / "model.bin").unlink()
    out = json.loads(run("checkout", "--json").stdout)
    assert len(out["restored"]) == 1
    assert (project / "model" / "model.bin").read_bytes() == b"weights-v1"


def test_checkout_with_ref_but_no_dest_is_a_usage_error(project):
    run("register", "m", "model")
    result = run("checkout", "m@1.0.0", code=None)
    assert result.exit_code == 2 and "DEST" in result.output


def test_malformed_safetensors_falls_back_and_says_so(project):
    bad = project / "model" / "weights.safetensors"
    bad.write_bytes(b"\xff" * 8 + b"not a header" + bytes(range(256)) * 20000)  # > 4 MiB
    result = run("register", "m", "model")
    assert "note: " in result.stderr and "generic chunking" in result.stderr
    run("checkout", "m@1.0.0", "back")
    assert (project / "back" / "weights.safetensors").read_bytes() == bad.read_bytes()


def test_non_finite_values_have_one_spelling_in_every_json_output(project):
    run("register", "m", "model", "--metric", "loss=1")
    (project / "model" / "model.bin").write_bytes(b"retrained")
    run("register", "m", "model", "--metric", "loss=nan")
    run("metric", "m@1.0.0", "acc=-inf")
    change = json.loads(run("diff", "m@1.0.0", "m@1.0.1", "--json").stdout)["metrics"]
    assert {"key": "loss", "old": 1.0, "new": "NaN"} in change
    records = json.loads(run("show", "m@1.0.0", "--json").stdout)["records"]
    assert records[0]["value"] == "-Infinity"


def test_a_safetensors_header_nested_100k_deep_registers_with_a_note(project):
    raw = b'{"t": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    bad = project / "model" / "deep.safetensors"
    bad.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(range(256)) * 20000)  # > 4 MiB
    result = run("register", "m", "model")
    assert "note: " in result.stderr and "generic chunking" in result.stderr
    run("checkout", "m@1.0.0", "out")
    assert (project / "out" / "deep.safetensors").read_bytes() == bad.read_bytes()
