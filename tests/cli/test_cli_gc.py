"""modelkeep gc from the command line: dry run, retention, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelkeep.cli.main import cli


def run(*args: str, code: int = 0):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def test_gc_dry_run_then_for_real(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run("init")
    for i, version in enumerate(["1.0.0", "1.0.1", "1.0.2"]):
        (tmp_path / "m").mkdir(exist_ok=True)
        (tmp_path / "m" / "w.bin").write_bytes(bytes([i]) * 10_000)
        run("register", "m", "m", "--version", version)
    dry = run("gc", "--dry-run", "--grace", "0", "--keep-stable", "1").stdout
    assert "would prune  m@1.0.0" in dry and "would delete 4 objects (" in dry
    assert "would delete 0 objects" in run("gc", "--dry-run", "--grace", "3600", "--keep-stable", "1").stdout
    done = json.loads(run("gc", "--grace", "0", "--keep-stable", "1", "--json").stdout)
    assert done["objects"] == 4 and done["versions"]["prune"] == ["m@1.0.0", "m@1.0.1"]
    run("fsck")
    assert "deleted 0 objects" in run("gc", "--grace", "0", "--keep-stable", "1").stdout
    assert "keep-stable" in run("gc", "--keep-stable", "-1", code=2).stderr


def test_alias_onto_a_pruned_version_is_one_line_naming_pull(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run("init")
    for i, version in enumerate(["1.0.0", "1.0.1"]):
        (tmp_path / "m").mkdir(exist_ok=True)
        (tmp_path / "m" / "w.bin").write_bytes(bytes([i]) * 10_000)
        run("register", "m", "m", "--version", version)
    run("gc", "--grace", "0", "--keep-stable", "1")
    err = run("alias", "set", "m", "production", "1.0.0", code=4).stderr
    assert err.splitlines() == [
        "error: cannot point m@production at 1.0.0: gc pruned the artifacts of m@1.0.0 from this keep",
        "hint: run 'modelkeep pull m@1.0.0' to fetch its files back from a remote, then try again"]
    assert "production" not in run("alias", "list", "m").stdout
