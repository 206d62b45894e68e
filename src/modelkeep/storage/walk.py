"""Find the files to add: a folder walked recursively, or a single file.

Symlinks are followed wherever they point, as ``cp -L`` does: their content is stored as
regular files (a Hugging Face cache snapshot links into ``../../blobs/``, a DVC workspace with
``cache.type symlink`` into ``.dvc/cache``). A symlink loop or a dangling symlink is an error
that names it, as are special files (FIFOs, sockets, devices). Empty folders are not recorded.
Neither ``.git`` nor ``.modelkeep`` (in any spelling a filesystem treats as the same) is
recorded: a checkout never writes them back (``storage/paths.py``).
"""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from modelkeep.errors import InvalidInputError, PathNotFoundError, UnsafePathError
from modelkeep.storage.paths import check_name, check_tree_path, is_reserved_name


class SourceFile:
    """One file to add: its tree path, where it is on disk, and its stat before reading."""

    __slots__ = ("rel", "os_path", "st")

    def __init__(self, rel: str, path: Path | str, st: os.stat_result) -> None:
        self.rel = rel
        self.os_path = os.fspath(path)  # a plain string: cheap on the hot path of 50,000 files
        self.st = st

    @property
    def path(self) -> Path:
        """The file on disk."""
        return Path(self.os_path)

    def __repr__(self) -> str:
        return f"SourceFile({self.rel!r}, {self.os_path!r})"


def scan(path: Path | str, *, exclude: Sequence[str] = ()) -> list[SourceFile]:
    """The files under ``path`` sorted by tree path; a file alone is named by its basename.

    ``exclude`` holds globs over tree paths (a folder excluded excludes everything below it).
    """
    root = os.path.abspath(path)
    st = _stat(root, "does not exist")
    if stat.S_ISREG(st.st_mode):
        return [SourceFile(check_tree_path(os.path.basename(root)), root, st)]
    if not stat.S_ISDIR(st.st_mode):
        raise _special(root)
    root_real = os.path.realpath(root)
    found: list[SourceFile] = []
    _walk(root, "", {root_real}, tuple(exclude), found)
    found.sort(key=lambda f: f.rel)
    return found


def _walk(
    folder: str,
    prefix: str,
    active: set[str],
    exclude: tuple[str, ...],
    found: list[SourceFile],
) -> None:
    with os.scandir(folder) as entries:
        items = list(entries)
    for e in items:
        rel = prefix + e.name
        check_name(e.name, rel)
        if is_reserved_name(e.name):
            continue
        if exclude and any(fnmatch.fnmatchcase(rel, pat) for pat in exclude):
            continue
        path = e.path
        if e.is_symlink():
            st = _stat(path, "is a dangling symlink")
            if stat.S_ISDIR(st.st_mode):
                real = os.path.realpath(path)
                if real in active:
                    raise _loop(path)
                _walk(path, rel + "/", active | {real}, exclude, found)
                continue
        else:
            st = e.stat(follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                real = os.path.realpath(path)
                _walk(path, rel + "/", active | {real}, exclude, found)
                continue
        if not stat.S_ISREG(st.st_mode):
            raise _special(path)
        found.append(SourceFile(rel, path, st))


def _stat(path: str, why_missing: str) -> os.stat_result:
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise PathNotFoundError(
            f"{path} {why_missing}", hint="check the path and try again", path=path
        ) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _loop(path) from None
        raise


def _loop(path: str) -> UnsafePathError:
    return UnsafePathError(
        f"{path} is a symlink loop", hint="remove or re-point the link, then try again", path=path
    )


def _special(path: str) -> InvalidInputError:
    return InvalidInputError(
        f"{path} is not a regular file or folder (FIFO, socket or device)",
        hint="add regular files only",
        path=path,
    )
