"""Crafted repositories and versions must never make pull or checkout write into .git/,
.modelkeep/, through a symlink, or outside the destination (issue 7, item 1).

Each attack is played as it would happen: the attacker commits crafted pointers with the real
``git`` binary and pushes the objects to a shared remote; the victim clones and runs the CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from support import cli_run as run

from modelkeep.keep import Keep
from modelkeep.registry.snapshot import build_snapshot
from modelkeep.registry.versions import register_version
from modelkeep.storage.tree import TreeEntry, write_tree


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-c", "user.name=a", "-c", "user.email=a@example.com", "-c", "init.defaultBranch=main",
         *args],
        cwd=cwd, check=True, capture_output=True, text=True,
    )


def refused(*args: str) -> dict[str, str]:
    """Run a command that must be refused with unsafe_path; return the JSON error."""
    result = run(*args, "--json", code=2)
    error = json.loads(result.stderr.strip().splitlines()[-1])["error"]
    assert error["code"] == "unsafe_path", error
    return error


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` but the keeps' own (their database changes as it is read)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink() and ".modelkeep" not in p.parts}


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    return tmp_path / "shared"


def attacker_repo(tmp_path: Path, shared: Path, monkeypatch: pytest.MonkeyPatch,
                  payload: dict[str, tuple[bytes, int]], pointer_name: str,
                  extra: dict[str, str] | None = None) -> Path:
    """A Git repository committing one crafted folder pointer named ``pointer_name`` (its
    objects pushed to ``shared``), plus symlinks ``extra`` (name -> target)."""
    repo = tmp_path / "attacker"
    repo.mkdir()
    monkeypatch.chdir(repo)
    git(repo, "init", "-q")
    run("init")
    for rel, (data, mode) in payload.items():
        path = repo / "payload" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.chmod(path, mode)
    run("add", "payload")
    run("remote", "add", "origin", str(shared))
    run("push")
    os.rename(repo / "payload.mk", repo / pointer_name)
    for name, target in (extra or {}).items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, repo / name)
    git(repo, "add", pointer_name, *(extra or {}))
    git(repo, "commit", "-q", "-m", "models")
    return repo


def victim_clone(tmp_path: Path, shared: Path, monkeypatch: pytest.MonkeyPatch, repo: Path) -> Path:
    victim = tmp_path / "victim"
    git(tmp_path, "clone", "-q", str(repo), str(victim))
    monkeypatch.chdir(victim)
    run("init")
    run("remote", "add", "origin", str(shared))
    return victim


def test_pull_never_plants_a_git_hook(tmp_path: Path, shared: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pwned = tmp_path / "PWNED"
    hook = f"#!/bin/sh\ntouch '{pwned}'\n".encode()
    repo = attacker_repo(tmp_path, shared, monkeypatch, {"hooks/post-checkout": (hook, 0o755)}, ".git.mk")
    victim = victim_clone(tmp_path, shared, monkeypatch, repo)
    hooks_before = snapshot(victim / ".git")

    refused("pull")
    assert snapshot(victim / ".git") == hooks_before
    assert not (victim / ".git" / "hooks" / "post-checkout").exists()
    git(victim, "checkout", "-q", "-b", "other")  # git runs post-checkout, if there is one
    assert not pwned.exists()
    refused("checkout")  # restoring from the local store alone is refused the same way


@pytest.mark.parametrize("name", [".GIT.mk", ".Git.mk", ".git..mk", ".git .mk", "git~1.mk"])
def test_case_and_windows_spellings_of_dot_git_are_refused(
    tmp_path: Path, shared: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """On a case-insensitive filesystem (macOS, Windows) .GIT is .git; Windows drops trailing
    dots and spaces and knows .git as GIT~1."""
    repo = attacker_repo(tmp_path, shared, monkeypatch, {"hooks/post-checkout": (b"#!/bin/sh\n", 0o755)},
                         name)
    victim = victim_clone(tmp_path, shared, monkeypatch, repo)
    refused("pull")
    assert not (victim / name[:-3]).exists()


def test_pull_never_overwrites_the_keep_config(tmp_path: Path, shared: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    evil = b'[core]\nstore = "/tmp/evil-store"\n'
    repo = attacker_repo(tmp_path, shared, monkeypatch, {"config.toml": (evil, 0o644)}, ".modelkeep.mk")
    victim = victim_clone(tmp_path, shared, monkeypatch, repo)
    before = (victim / ".modelkeep" / "config.toml").read_bytes()
    refused("pull")
    assert (victim / ".modelkeep" / "config.toml").read_bytes() == before
    run("remote", "list")  # the keep still works


def test_pull_never_writes_through_a_committed_symlink(tmp_path: Path, shared: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    key = b"ssh-ed25519 AAAA evil\n"
    repo = attacker_repo(tmp_path, shared, monkeypatch, {"authorized_keys": (key, 0o644)},
                         "models.mk", extra={"models": str(elsewhere)})
    victim = victim_clone(tmp_path, shared, monkeypatch, repo)
    assert (victim / "models").is_symlink()
    refused("pull")
    assert list(elsewhere.iterdir()) == []


def test_pull_never_writes_through_a_symlinked_parent_folder(
    tmp_path: Path, shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pointer sits in a real folder, its target's folder is reached through a symlink."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    repo = attacker_repo(tmp_path, shared, monkeypatch, {"sub/key": (b"evil\n", 0o644)},
                         "models.mk", extra={"models/sub": str(elsewhere)})
    victim_clone(tmp_path, shared, monkeypatch, repo)  # pull would restore models/sub/key
    refused("pull")
    assert list(elsewhere.iterdir()) == []


def craft_version(keep_dir: Path, name: str, files: dict[str, bytes]) -> None:
    """Register a version whose tree holds exactly ``files`` (paths a real folder could not
    give, as a crafted remote could)."""
    keep = Keep.open(keep_dir)
    try:
        entries = [TreeEntry(p, keep.store.put_bytes(d), len(d), 0o644, "blob") for p, d in files.items()]
        tree = write_tree(keep.store, entries)
        size = sum(map(len, files.values()))

        def snap(version: str, created: str) -> dict[str, object]:
            return build_snapshot(None, name=name, version=version, created=created, author="eve",
                                  tree_id=tree, size=size, params={}, metrics={}, lineage=None)

        register_version(keep.db, name, tree_id=tree, size=size, files=len(files), author="eve",
                         snapshot=snap, version="1.0.0")
    finally:
        keep.close()


def test_checkout_in_the_keep_root_never_replaces_its_config(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run("init")
    craft_version(tmp_path, "evil", {".modelkeep/config.toml": b'[core]\nstore = "/tmp/x"\n',
                                     "weights.bin": b"w"})
    before = (tmp_path / ".modelkeep" / "config.toml").read_bytes()
    refused("checkout", "evil@1.0.0", ".")
    assert (tmp_path / ".modelkeep" / "config.toml").read_bytes() == before
    assert not (tmp_path / "weights.bin").exists()  # nothing is written
    refused("checkout", "evil@1.0.0", ".modelkeep")  # nor into the keep's folder itself


@pytest.mark.parametrize("path", [".git/hooks/post-checkout", "sub/.git/config", ".GIT/config",
                                  "sub/.modelkeep/config.toml", ".Git./hooks/x"])
def test_a_pulled_version_naming_git_or_keep_folders_is_refused(
    tmp_path: Path, shared: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    author = tmp_path / "author"
    author.mkdir()
    monkeypatch.chdir(author)
    run("init")
    craft_version(author, "evil", {path: b"#!/bin/sh\necho pwned\n", "ok.txt": b"ok"})
    run("remote", "add", "origin", str(shared))
    run("push")
    victim = tmp_path / "victim"
    victim.mkdir()
    git(victim, "init", "-q")
    monkeypatch.chdir(victim)
    run("init")
    run("remote", "add", "origin", str(shared))
    run("pull", "evil@1.0.0")  # fetching objects writes nothing into the work tree
    before = snapshot(victim)
    refused("checkout", "evil@1.0.0", ".")
    refused("checkout", "evil@1.0.0", "out")
    assert snapshot(victim) == before


@pytest.mark.parametrize("path", ["../escape.txt", "../../escape.txt", "/tmp/escape.txt", "a\\..\\escape.txt",
                                  "a/../../escape.txt"])
def test_a_crafted_tree_leaving_the_destination_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           path: str) -> None:
    keep_dir = tmp_path / "keep"
    keep_dir.mkdir()
    monkeypatch.chdir(keep_dir)
    run("init")
    craft_version(keep_dir, "evil", {path: b"escaped", "ok.txt": b"ok"})
    before = snapshot(tmp_path)
    refused("checkout", "evil@1.0.0", "out/deep")
    assert snapshot(tmp_path) == before and not Path("/tmp/escape.txt").exists()


def test_pointer_names_that_leave_their_folder_are_refused(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """'...mk' names '..' and '..mk' names '.': a pointer restores only a name in its own folder."""
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    monkeypatch.chdir(repo)
    run("init")
    (repo / "payload").mkdir()
    (repo / "payload" / "x.txt").write_text("x")
    run("add", "payload")
    text = (repo / "payload.mk").read_bytes()
    (repo / "payload.mk").unlink()
    for name in ("...mk", "..mk"):
        (repo / "sub" / name).write_bytes(text)
        before = snapshot(tmp_path)
        refused("checkout")
        assert snapshot(tmp_path) == before
        (repo / "sub" / name).unlink()


def test_a_pointer_whose_target_is_a_folder_is_one_line(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Item 11: a file pointer whose target exists as a folder."""
    monkeypatch.chdir(tmp_path)
    run("init")
    (tmp_path / "model.bin").write_bytes(b"weights")
    run("add", "model.bin")
    (tmp_path / "model.bin").unlink()
    (tmp_path / "model.bin").mkdir()
    (tmp_path / "model.bin" / "keep.txt").write_text("mine")
    err = run("checkout", code=2).stderr
    assert "error:" in err and "model.bin" in err and "Traceback" not in err
    os.rename(tmp_path / "model.bin.mk", tmp_path / "other.bin.mk")  # a renamed pointer
    (tmp_path / "other.bin").mkdir()
    err = run("checkout", code=2).stderr
    assert "error:" in err and "other.bin" in err and "Traceback" not in err
    assert (tmp_path / "model.bin" / "keep.txt").read_text() == "mine"
    assert list((tmp_path / "other.bin").iterdir()) == []
