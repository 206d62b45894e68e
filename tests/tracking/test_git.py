"""Git capture in a real temporary repository: commit, branch, remote, and the dirty diff."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from support import skip_outside_ci

from modelkeep.keep import Keep
from modelkeep.tracking.git import capture_git, tracked_files


@pytest.fixture(autouse=True)
def _needs_git() -> None:
    if subprocess.run(["git", "--version"], capture_output=True).returncode != 0:
        skip_outside_ci("git is not installed")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    (root / "train.py").write_text("print(1)\n")
    (root / ".gitignore").write_text("data/\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    git(root, "remote", "add", "origin", "https://user:secret@example.com/team/repo.git")
    return root


def test_clean_repository(keep: Keep, repo: Path) -> None:
    state = capture_git(keep.store, repo)
    assert state is not None
    assert state.commit == git(repo, "rev-parse", "HEAD")
    assert state.branch == "main"
    assert state.repository == "https://example.com/team/repo.git"  # credentials cut out
    assert state.dirty is False and state.diff is None


@pytest.mark.parametrize("url", ["https://user:se/cr@et@example.com/team/repo.git",
                                 "https://ghp_0123456789ABCDEFabcdef@example.com/team/repo.git"])
def test_repository_credentials_are_cut_out_whatever_they_hold(keep: Keep, repo: Path,
                                                               url: str) -> None:
    git(repo, "remote", "set-url", "origin", url)
    state = capture_git(keep.store, repo)
    assert state is not None and state.repository == "https://example.com/team/repo.git"


def test_dirty_diff_is_stored_and_applies(keep: Keep, repo: Path, tmp_path: Path) -> None:
    (repo / "train.py").write_text("print(2)\n")
    (repo / "new.py").write_text("x = 1\n")
    (repo / "data").mkdir()
    (repo / "data" / "big.csv").write_text("ignored\n")
    state = capture_git(keep.store, repo)
    assert state is not None and state.dirty and state.diff
    patch = keep.store.get_bytes(state.diff)
    assert b"print(2)" in patch and b"new.py" in patch and b"ignored" not in patch
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    (clone / "p.diff").write_bytes(patch)
    git(clone, "apply", "p.diff")
    assert (clone / "train.py").read_text() == "print(2)\n"
    assert (clone / "new.py").read_text() == "x = 1\n"


def test_outside_git_is_none(keep: Keep, tmp_path: Path) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    assert capture_git(keep.store, outside) is None


def test_log_code_snapshots_the_work_tree(keep: Keep, repo: Path, monkeypatch) -> None:
    (repo / "data").mkdir()
    (repo / "data" / "x.csv").write_text("ignored\n")
    (repo / "model.py").write_text("class M: ...\n")  # untracked but not ignored: kept
    assert [p.name for p in tracked_files(repo)] == [".gitignore", "model.py", "train.py"]
    monkeypatch.chdir(repo)
    with keep.start_run("m") as run:
        code = run.log_code()
    assert code["commit"] == git(repo, "rev-parse", "HEAD") and code["dirty"] is True
    from modelkeep.storage.tree import read_tree

    assert [e.path for e in read_tree(keep.store, code["snapshot"])] == [
        ".gitignore", "model.py", "train.py"]
    assert keep.run_view(run.id)["code"] == code
