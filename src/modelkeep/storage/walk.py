"""Find the files to add: a folder walked recursively, or a single file.

Symlinks to files or folders inside the added folder are followed (their content is stored as
regular files); a symlink pointing outside it, a symlink loop, or a dangling symlink is an
error, as are special files (FIFOs, sockets, devices). Empty folders are not recorded.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from modelkeep.errors import InvalidInputError, PathNotFoundError, UnsafePathError
from modelkeep.storage.paths import check_tree_path, is_within


@dataclass(frozen=True)
class SourceFile:
    """One file to add: its tree path, where it is on disk, and its stat before reading."""

    rel: str
    path: Path
    st: os.stat_result


def scan(path: Path, *, exclude: Sequence[str] = ()) -> list[SourceFile]:
    """The files under ``path`` sorted by tree path; a file alone is named by its basename.

    ``exclude`` holds globs over tree paths (a folder excluded excludes everything below it).
    """
    path = Path(path)
    st = _stat(path, "does not exist")
    if stat.S_ISREG(st.st_mode):
        return [SourceFile(check_tree_path(path.name), path, st)]
    if not stat.S_ISDIR(st.st_mode):
        raise _special(path)
    root_real = os.path.realpath(path)
    found: list[SourceFile] = []
    _walk(path, "", root_real, {root_real}, tuple(exclude), found)
    found.sort(key=lambda f: f.rel)
    return found


def _walk(
    folder: Path,
    prefix: str,
    root_real: str,
    active: set[str],
    exclude: tuple[str, ...],
    found: list[SourceFile],
) -> None:
    with os.scandir(folder) as entries:
        items = list(entries)
    for e in items:
        rel = prefix + e.name
        if exclude and any(fnmatch.fnmatchcase(rel, pat) for pat in exclude):
            continue
        path = Path(e.path)
        if e.is_symlink():
            real = os.path.realpath(e.path)
            if not is_within(real, root_real):
                raise UnsafePathError(
                    f"{path} is a symlink pointing outside the added folder ({real})",
                    hint="copy the target into the folder, or add the target itself",
                    path=str(path),
                )
            st = _stat(path, "is a dangling symlink")
            if stat.S_ISDIR(st.st_mode):
                if real in active:
                    raise UnsafePathError(f"{path} is a symlink loop", path=str(path))
                _descend(path, rel, root_real, active | {real}, exclude, found)
                continue
        else:
            st = e.stat(follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                _descend(path, rel, root_real, active, exclude, found)
                continue
        if not stat.S_ISREG(st.st_mode):
            raise _special(path)
        found.append(SourceFile(check_tree_path(rel), path, st))


def _descend(
    path: Path,
    rel: str,
    root_real: str,
    active: set[str],
    exclude: tuple[str, ...],
    found: list[SourceFile],
) -> None:
    _walk(path, rel + "/", root_real, active | {os.path.realpath(path)}, exclude, found)


def _stat(path: Path, why_missing: str) -> os.stat_result:
    try:
        return path.stat()
    except FileNotFoundError:
        raise PathNotFoundError(
            f"{path} {why_missing}", hint="check the path and try again", path=str(path)
        ) from None


def _special(path: Path) -> InvalidInputError:
    return InvalidInputError(
        f"{path} is not a regular file or folder (FIFO, socket or device)",
        hint="add regular files only",
        path=str(path),
    )
