"""modelkeep inside a real Git repository: what git sees of the keep, and clones of it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from support import cli_run as run

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": os.environ.get("HOME", "/tmp")}


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` and return its output."""
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, env=env,
                          capture_output=True, text=True).stdout


def test_git_add_all_commits_nothing_of_the_keep_and_a_clone_can_init(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    monkeypatch.chdir(repo)
    run("init")
    (repo / "model").mkdir()
    (repo / "model" / "w.bin").write_bytes(b"weights")
    run("register", "m", "model")
    run("add", "model/w.bin")
    git(repo, "add", "-A")
    staged = git(repo, "diff", "--cached", "--name-only").split()
    assert staged and not [p for p in staged if p.startswith(".modelkeep")], staged
    assert "model/w.bin.mk" in staged
    git(repo, "commit", "-q", "-m", "model")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True, env={**os.environ, **GIT_ENV})
    assert not (clone / ".modelkeep").exists()
    monkeypatch.chdir(clone)
    run("init")
    assert run("list").exit_code == 0
