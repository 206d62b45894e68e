"""add / pull of pointer files, export-lfs and import-lfs from the command line."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from support import cli_run as run


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    run("init")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "models" / "bert").mkdir(parents=True)
    (tmp_path / "models" / "bert" / "model.bin").write_bytes(os.urandom(300_000))
    return tmp_path


def test_add_in_a_subfolder_then_pull_restores(repo: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    folder = repo / "models" / "bert"
    monkeypatch.chdir(folder)  # the keep is found by walking up
    added = json.loads(run("add", "model.bin", "--json").stdout)
    assert added[0]["kind"] == "file" and added[0]["size"] == 300_000
    assert (folder / ".gitignore").read_text() == "/model.bin\n"
    assert "modelkeep-pointer 1" in (folder / "model.bin.mk").read_text()
    original = (folder / "model.bin").read_bytes()
    (folder / "model.bin").unlink()
    monkeypatch.chdir(repo)
    assert "Restored 1 pointer(s)" in run("pull").stdout  # everything is local: no remote needed
    assert (folder / "model.bin").read_bytes() == original

    run("remote", "add", "origin", str(tmp_path / "shared"))
    run("push")
    clone = tmp_path / "clone"
    (clone / "models" / "bert").mkdir(parents=True)
    (clone / "models" / "bert" / "model.bin.mk").write_bytes((folder / "model.bin.mk").read_bytes())
    monkeypatch.chdir(clone)
    run("init")
    run("remote", "add", "origin", str(tmp_path / "shared"))
    out = run("pull").stdout
    assert "received 2 objects" in out
    assert (clone / "models" / "bert" / "model.bin").read_bytes() == original
    assert run("gc", "--grace", "0", "--json").stdout and json.loads(
        run("gc", "--grace", "0", "--json").stdout)["objects"] == 0  # the pin keeps it
    run("fsck")


def test_export_and_import_lfs(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run("register", "bert", "models/bert")
    lfs_repo = tmp_path / "lfs-repo"
    subprocess.run(["git", "init", "-q", str(lfs_repo)], check=True)
    out = json.loads(run("export-lfs", "bert@1.0.0", str(lfs_repo), "--json").stdout)
    assert out["files"] == 1 and out["objects_written"] == 1
    assert (lfs_repo / "model.bin").read_text().startswith("version https://git-lfs.github.com/spec/v1")
    assert "filter=lfs" in (lfs_repo / ".gitattributes").read_text()
    imported = json.loads(run("import-lfs", str(lfs_repo), "--name", "bert-lfs", "--json").stdout)
    assert imported["lfs_files"] == 1 and imported["version"] == "bert-lfs@1.0.0"
    run("checkout", "bert-lfs@1.0.0", "out")
    assert (repo / "out" / "model.bin").read_bytes() == (repo / "models" / "bert" / "model.bin").read_bytes()
    nowhere = tmp_path.parent / f"{tmp_path.name}-plain"  # outside any Git repository
    nowhere.mkdir()
    err = run("export-lfs", "bert@1.0.0", str(nowhere), code=2).stderr
    assert "not inside a Git repository" in err and "--objects" in err


def test_add_refuses_bad_input(repo: Path) -> None:
    assert "does not exist" in run("add", "nothing.bin", code=2).stderr
    (repo / "x.mk").write_text("junk")
    assert "pointer file already" in run("add", "x.mk", code=2).stderr
