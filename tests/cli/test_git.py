"""modelkeep inside a real Git repository: what git sees of the keep, and clones of it."""

from __future__ import annotations

import json
import os
import re
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


def clone_at(repo: Path, clone: Path, revision: str, remote: Path) -> None:
    """``git clone`` of ``repo``, checked out at ``revision``, with a new keep using ``remote``;
    the current folder becomes the clone."""
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True,
                   env={**os.environ, **GIT_ENV})
    git(clone, "checkout", "-q", revision)
    os.chdir(clone)
    run("init")
    run("remote", "add", "origin", str(remote))


@pytest.fixture
def two_commits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, bytes, bytes]:
    """A Git repository with a keep at its root and a folder remote, whose model.bin was added
    and committed twice (v1 then v2); the current folder is the repository."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    monkeypatch.chdir(repo)
    run("init")
    run("remote", "add", "origin", str(tmp_path / "shared"))
    versions = os.urandom(5000), os.urandom(5000)
    for n, content in enumerate(versions, 1):
        (repo / "model.bin").write_bytes(content)
        run("add", "model.bin")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"model v{n}")
    return repo, *versions


def test_push_all_versions_lets_a_clone_pull_an_older_commit(
        two_commits: tuple[Path, bytes, bytes], tmp_path: Path) -> None:
    repo, v1, v2 = two_commits
    for pin in (repo / ".modelkeep" / "pins").iterdir():  # history, not pins, names v1 now
        pin.unlink()
    run("add", "model.bin")  # the live pointer is pinned again
    # on another branch: a pointer to a tree this keep never had, and a .mk that is no pointer
    main = git(repo, "symbolic-ref", "--short", "HEAD").strip()
    git(repo, "checkout", "-q", "-b", "elsewhere")
    foreign = "ab" * 32
    (repo / "other.bin.mk").write_text(
        re.sub(r"tree [0-9a-f]{64}", f"tree {foreign}", (repo / "model.bin.mk").read_text()))
    (repo / "junk.mk").write_bytes(b"\xff\xfe not a pointer")
    git(repo, "add", "other.bin.mk", "junk.mk")
    git(repo, "commit", "-q", "-m", "crafted")
    git(repo, "checkout", "-q", main)
    out = json.loads(run("push", "--all-versions", "--json").stdout)
    assert out["history_trees"] == 3 and out["trees_not_here"] == [foreign]
    assert out["objects"] >= 4
    assert "give no NAME@VERSION" in run("push", "m@1.0.0", "--all-versions", code=2).stderr

    clone = tmp_path / "clone"
    clone_at(repo, clone, "HEAD~1", tmp_path / "shared")
    run("pull")
    assert (clone / "model.bin").read_bytes() == v1
    git(clone, "checkout", "-q", "-")
    run("pull")
    assert (clone / "model.bin").read_bytes() == v2


def test_a_bare_push_sends_only_what_the_pointers_name_now(
        two_commits: tuple[Path, bytes, bytes], tmp_path: Path) -> None:
    repo, _, _ = two_commits
    assert "history_trees" not in json.loads(run("push", "--json").stdout)
    clone_at(repo, tmp_path / "clone", "HEAD~1", tmp_path / "shared")
    assert "object_not_found" in run("pull", "--json", code=3).stderr  # what --all-versions is for
