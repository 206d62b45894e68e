"""export-lfs read back by real git and git-lfs: a version's own .gitattributes, hostile names."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from support import skip_outside_ci

from modelkeep.storage.lfs import export_lfs, lfs_objects_for, parse_lfs_pointer
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.sha256index import Sha256Index
from modelkeep.storage.tree import add_path

GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_CONFIG_NOSYSTEM": "1"}
HF_ATTRIBUTES = (
    "# from the Hugging Face Hub\n"
    "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
    "*.bin filter=lfs diff=lfs merge=lfs -text\n"
    "*.json -filter -diff -merge text\n"
)
# every character git's pattern syntax gives a meaning to, and the decoys a raw pattern would match
HOSTILE = ["a\tb.bin", "a b.bin", " lead.bin", "trail.bin ", "a[1].bin", "q?.bin", "s*.bin",
           "#hash.bin", "!bang.bin", 'c"q.bin', "line\nbreak.bin", "cr\r.bin", "é ü.bin",
           "x{1,2}.bin", "d**e.bin", "caret^$.bin", "sub dir/[x].bin", "\x01ctl.bin"]
DECOYS = ["aXb.bin", "a1.bin", "qz.bin", "sZZ.bin", "cXq.bin", "dXXe.bin", "sub dir/x.bin"]


def git(repo: Path, *args: str, stdin: str = "") -> str:
    """Run git in ``repo``; its stdout (bytes as they are: a name may hold a CR)."""
    return subprocess.run(["git", "-C", str(repo), *args], check=True, env=GIT_ENV,
                          input=stdin.encode(), capture_output=True).stdout.decode()


def attribute(repo: Path, paths: list[str], name: str = "filter") -> dict[str, str]:
    """path -> value of attribute ``name`` as git itself reads it (NUL-separated, any name)."""
    out = git(repo, "check-attr", "-z", "--stdin", name, stdin="\0".join(paths) + "\0").split("\0")
    return {out[i]: out[i + 2] for i in range(0, len(out) - 2, 3)}


def repo_at(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q")
    return path


def hub_model(root: Path) -> Path:
    """A Hugging Face Hub repository as it is downloaded: its own .gitattributes, nested too."""
    (root / "sub").mkdir(parents=True)
    (root / ".gitattributes").write_text(HF_ATTRIBUTES)
    (root / "model.safetensors").write_bytes(os.urandom(200_000))
    (root / "config.json").write_text('{"hidden": 8}')
    (root / "sub" / ".gitattributes").write_text("*.txt -filter -diff -merge text\n")
    (root / "sub" / "notes.txt").write_text("notes")
    return root


def test_a_version_s_own_gitattributes_is_kept_merged_and_never_lfs(
        store: ObjectStore, index: Sha256Index, tmp_path: Path) -> None:
    model = hub_model(tmp_path / "model")
    (model / ".gitignore").write_text("*.tmp\n")  # git reads it too: never a pointer
    tree = add_path(store, model).tree_id
    repo = repo_at(tmp_path / "repo")
    report = export_lfs(store, tree, repo, lfs_objects_for(repo, None), index)
    assert report.files == 6 and report.lfs_files == 3
    assert (repo / ".gitignore").read_text() == "*.tmp\n"
    root_text = (repo / ".gitattributes").read_text()
    assert root_text.startswith(HF_ATTRIBUTES)  # the version's content, byte for byte, first
    assert (repo / "sub" / ".gitattributes").read_text().startswith("*.txt -filter -diff -merge text\n")
    lfs = ["model.safetensors", "config.json", "sub/notes.txt"]
    got = attribute(repo, [".gitattributes", "sub/.gitattributes", *lfs])
    assert got == {".gitattributes": "unspecified", "sub/.gitattributes": "unspecified",
                   **{p: "lfs" for p in lfs}}, got  # our lines win over '*.json -filter'
    for p in lfs:
        assert parse_lfs_pointer((repo / p).read_bytes()) is not None
    # a second export changes nothing
    export_lfs(store, tree, repo, lfs_objects_for(repo, None), index)
    assert (repo / ".gitattributes").read_text() == root_text


def test_an_existing_gitattributes_in_the_destination_is_merged_not_refused(
        store: ObjectStore, index: Sha256Index, tmp_path: Path) -> None:
    tree = add_path(store, hub_model(tmp_path / "model")).tree_id
    repo = repo_at(tmp_path / "repo")
    (repo / ".gitattributes").write_text("*.png binary\n")
    export_lfs(store, tree, repo, lfs_objects_for(repo, None), index)
    lines = (repo / ".gitattributes").read_text().splitlines()
    assert lines[:4] == HF_ATTRIBUTES.splitlines() and "*.png binary" in lines
    assert attribute(repo, ["config.json"]) == {"config.json": "lfs"}


def test_every_character_of_git_pattern_syntax_is_escaped(
        store: ObjectStore, index: Sha256Index, tmp_path: Path) -> None:
    model = tmp_path / "model"
    for name in HOSTILE:
        (model / name).parent.mkdir(parents=True, exist_ok=True)
        (model / name).write_bytes(name.encode())
    tree = add_path(store, model).tree_id
    repo = repo_at(tmp_path / "repo")
    export_lfs(store, tree, repo, lfs_objects_for(repo, None), index)
    for name in DECOYS:  # files outside the version that a raw pattern would also match
        (repo / name).write_text("decoy")
    got = attribute(repo, HOSTILE + DECOYS)
    assert {p: got[p] for p in HOSTILE} == {p: "lfs" for p in HOSTILE}
    assert {p: got[p] for p in DECOYS} == {p: "unspecified" for p in DECOYS}


def test_git_lfs_commits_clones_and_pulls_the_export(
        store: ObjectStore, index: Sha256Index, tmp_path: Path) -> None:
    if shutil.which("git-lfs") is None:
        skip_outside_ci("git-lfs is not installed (apt-get install -y git-lfs)")
    model = hub_model(tmp_path / "model")
    for name in ["a\tb.bin", "a[1].bin", "é ü.bin", "#x.bin"]:
        (model / name).write_bytes(os.urandom(1000))
    tree = add_path(store, model).tree_id
    repo = repo_at(tmp_path / "repo")
    git(repo, "lfs", "install", "--local")
    export_lfs(store, tree, repo, lfs_objects_for(repo, None), index)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "export")
    lfs_files = sorted(git(repo, "-c", "core.quotepath=off", "lfs", "ls-files", "--name-only")
                       .splitlines())
    want = sorted(str(p.relative_to(model)) for p in model.rglob("*")
                  if p.is_file() and p.name != ".gitattributes")
    assert lfs_files == want
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", f"file://{repo}", str(clone)], check=True, env=GIT_ENV,
                   capture_output=True)
    git(clone, "lfs", "install", "--local")
    git(clone, "lfs", "pull")
    for rel in want:  # the real bytes, through git-lfs's own transfer
        assert (clone / rel).read_bytes() == (model / rel).read_bytes(), rel
    assert (clone / ".gitattributes").read_text().startswith(HF_ATTRIBUTES)
    assert (clone / "sub" / ".gitattributes").read_text().startswith("*.txt -filter")
