"""Snapshots of chosen files (the code, the pipeline's scripts and configs) as one stored tree.

``storage.tree.add_path`` stores one file or folder; a snapshot is a *selection* of files,
named by their paths relative to a base folder (the Git root, or the current folder). The
selection is copied into a staging folder in the keep's ``tmp/`` and added from there, so the
tree is built by the one code path that stores trees.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from modelkeep.errors import InvalidInputError, PathNotFoundError
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.tree import TreeInfo, add_path

SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".modelkeep", ".venv", "venv",
                       "node_modules", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox"})
MAX_SNAPSHOT_BYTES = 256 * 2**20
SCRIPT_SUFFIXES = frozenset({".py", ".sh", ".bash", ".ipynb", ".r", ".jl", ".sql", ".js", ".ts"})


def expand(paths: Iterable[Path | str]) -> list[Path]:
    """Files named by ``paths``: files as given, folders walked (VCS and cache folders skipped)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            for folder, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
                found.extend(Path(folder) / n for n in sorted(names))
        else:
            raise PathNotFoundError(f"path '{path}' does not exist", hint="check the path",
                                    path=str(path))
    return found


def choose_base(files: Sequence[Path]) -> Path:
    """The folder files are named from: the cwd when it holds them all, else their common parent."""
    absolute = [f.resolve() for f in files]
    cwd = Path.cwd().resolve()
    if all(f.is_relative_to(cwd) for f in absolute):
        return cwd
    return Path(os.path.commonpath([str(f.parent) for f in absolute]))


def snapshot(store: ObjectStore, files: Sequence[Path], base: Path | None = None) -> TreeInfo:
    """Store ``files`` as one tree, each named by its path relative to ``base``."""
    if not files:
        raise InvalidInputError("no files to snapshot", hint="pass paths=[...] with some files")
    base = (base or choose_base(files)).resolve()
    total = sum(f.stat().st_size for f in files)
    if total > MAX_SNAPSHOT_BYTES:
        raise InvalidInputError(
            f"the files to snapshot hold {total / 2**20:.0f} MiB, more than the "
            f"{MAX_SNAPSHOT_BYTES // 2**20} MiB a code or pipeline snapshot may hold",
            hint="pass paths=[...] naming the source files; log data with log_dataset",
        )
    stage = Path(tempfile.mkdtemp(prefix="snapshot-", dir=store.tmp_dir))
    try:
        for f in files:
            resolved = f.resolve()
            rel = resolved.relative_to(base) if resolved.is_relative_to(base) else Path(f.name)
            target = stage / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                continue
            shutil.copyfile(resolved, target)  # a copy: the user's files are never linked
            shutil.copymode(resolved, target)
        return add_path(store, stage)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def split_pipeline_files(files: Sequence[Path], base: Path) -> tuple[list[str], list[str]]:
    """(scripts, config files) as tree paths: scripts by suffix, everything else is config."""
    scripts: list[str] = []
    configs: list[str] = []
    for f in files:
        resolved = f.resolve()
        rel = resolved.relative_to(base) if resolved.is_relative_to(base) else Path(f.name)
        (scripts if f.suffix.lower() in SCRIPT_SUFFIXES else configs).append(rel.as_posix())
    return scripts, configs
