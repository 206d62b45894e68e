"""Git state of the code a run used: commit, branch, remote, and the uncommitted diff.

Read with the ``git`` command (no library): it is on every machine that has a repository, and
it answers exactly as the user's own ``git`` would. The diff against HEAD (staged and unstaged
changes, plus untracked files that are not ignored, as new-file patches) is stored as a blob
in the object store, so ``git apply`` on a checkout of the commit restores the exact tree.
Untracked files over 1 MiB (data, weights) and beyond the first 200 are left out of the diff:
``log_code`` and ``log_dataset`` are the way to keep those.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelkeep.redact import redact_url
from modelkeep.storage.objects import ObjectStore

_TIMEOUT = 30
MAX_UNTRACKED_FILE = 1 << 20  # untracked files larger than this (data, weights) stay out of the diff
MAX_UNTRACKED_FILES = 200
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # what a repository without commits diffs from


@dataclass(frozen=True)
class GitState:
    """Where the code came from; ``diff`` is the blob id of the uncommitted changes (when dirty)."""

    root: str
    commit: str | None
    branch: str | None
    repository: str | None
    dirty: bool
    diff: str | None

    def to_code(self) -> dict[str, Any]:
        """The fields of schema.components.CodeComponent this state fills."""
        return {"repository": self.repository, "commit": self.commit, "branch": self.branch,
                "dirty": self.dirty, "diff": self.diff}


def _git(cwd: Path, *args: str, binary: bool = False, env: dict[str, str] | None = None,
         stdin: bytes | None = None) -> Any:
    full_env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C", **(env or {})}
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=_TIMEOUT,
                          env=full_env, input=stdin, check=False)  # optional locks off: no index.lock
    if proc.returncode != 0:
        return None
    return proc.stdout if binary else proc.stdout.decode("utf-8", "replace").strip()


def repository_root(path: Path | None = None) -> Path | None:
    """The top folder of the Git work tree holding ``path`` (default cwd), or None."""
    if shutil.which("git") is None:
        return None
    top = _git(Path(path or Path.cwd()), "rev-parse", "--show-toplevel")
    return Path(top) if top else None


def capture_git(store: ObjectStore, path: Path | None = None) -> GitState | None:
    """The Git state of the repository holding ``path`` (default cwd); None outside Git."""
    root = repository_root(path)
    if root is None:
        return None
    commit = _git(root, "rev-parse", "--verify", "-q", "HEAD") or None
    branch = _git(root, "symbolic-ref", "--short", "-q", "HEAD") or None
    remote = _git(root, "config", "--get", f"branch.{branch}.remote") if branch else None
    url = _git(root, "remote", "get-url", remote or "origin") or None
    diff = uncommitted_diff(root, has_head=commit is not None)
    diff_id = store.put_bytes(diff) if diff else None
    return GitState(
        root=str(root),
        commit=commit,
        branch=branch,
        repository=redact_url(url, drop_credentials=True) if url else None,
        dirty=bool(diff),
        diff=diff_id,
    )


def uncommitted_diff(root: Path, *, has_head: bool = True) -> bytes:
    """A binary patch of every change against HEAD, untracked (not ignored) files included.

    Untracked files are marked intent-to-add in a throw-away copy of the index
    (``GIT_INDEX_FILE``), so one ``git diff`` shows them as new files and the user's own index
    is never touched.
    """
    base = "HEAD" if has_head else EMPTY_TREE
    listed = _git(root, "ls-files", "--others", "--exclude-standard", "-z", binary=True) or b""
    chosen = [n for n in listed.split(b"\0") if n and _small_file(root / os.fsdecode(n))]
    chosen = chosen[:MAX_UNTRACKED_FILES]
    if not chosen:
        return _git(root, "diff", "--binary", base, binary=True) or b""
    index = Path(_git(root, "rev-parse", "--git-path", "index") or ".git/index")
    index = index if index.is_absolute() else root / index
    with tempfile.TemporaryDirectory(prefix="modelkeep-git-") as tmp:
        scratch = Path(tmp) / "index"
        if index.is_file():
            shutil.copyfile(index, scratch)
        env = {"GIT_INDEX_FILE": str(scratch)}
        _git(root, "add", "--intent-to-add", "--pathspec-from-file=-", "--pathspec-file-nul",
             env=env, stdin=b"\0".join(chosen))
        return _git(root, "diff", "--binary", base, binary=True, env=env) or b""


def _small_file(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size <= MAX_UNTRACKED_FILE
    except OSError:
        return False


def tracked_files(root: Path) -> list[Path]:
    """Files Git tracks plus untracked files that are not ignored, as paths under ``root``."""
    out = _git(root, "ls-files", "--cached", "--others", "--exclude-standard", "-z", binary=True)
    names = sorted({n.decode("utf-8", "surrogateescape") for n in (out or b"").split(b"\0") if n})
    return [root / n for n in names if (root / n).is_file()]


def pointer_trees_in_history(root: Path) -> set[str]:
    """Every tree a ``*.mk`` pointer file names in any commit reachable from any ref of the
    repository at ``root`` (what ``push --all-versions`` sends, so a clone can check out an
    older commit and pull). Blobs that are not valid pointers are ignored."""
    from modelkeep.errors import ModelkeepError
    from modelkeep.storage.pointers import MAX_POINTER_SIZE, POINTER_SUFFIX, parse_pointer

    listed = _git(root, "rev-list", "--all", "--objects", binary=True) or b""
    suffix = POINTER_SUFFIX.encode()
    blobs = {sha for sha, _, path in (line.partition(b" ") for line in listed.splitlines())
             if path.endswith(suffix)}
    if not blobs:
        return set()
    batch = _git(root, "cat-file", "--batch", binary=True, stdin=b"\n".join(sorted(blobs)) + b"\n")
    trees: set[str] = set()
    pos = 0
    while batch and pos < len(batch):
        end = batch.index(b"\n", pos)
        header = batch[pos:end].split()
        if len(header) != 3:  # "<sha> missing"
            pos = end + 1
            continue
        size = int(header[2])
        body = batch[end + 1:end + 1 + size]
        pos = end + 1 + size + 1
        if header[1] == b"blob" and size <= MAX_POINTER_SIZE:
            try:
                trees.add(parse_pointer(body.decode("utf-8")).tree_id)
            except (UnicodeDecodeError, ModelkeepError):
                continue
    return trees


def pointer_trees_in_repositories(folders: Iterable[Path]) -> set[str]:
    """``pointer_trees_in_history`` of every Git repository holding one of ``folders``."""
    roots = {repository_root(f) for f in set(folders) if f.is_dir()}
    return {tree for root in roots if root is not None for tree in pointer_trees_in_history(root)}
