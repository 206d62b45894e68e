"""Tree paths: relative, POSIX, portable, and never able to escape the folder they land in."""

from __future__ import annotations

import os
from pathlib import Path

from modelkeep.errors import UnsafePathError


def check_tree_path(path: object) -> str:
    """Return ``path`` if it is a safe relative POSIX path, else raise UnsafePathError.

    Rejected: empty, absolute, ``.``/``..``/empty components, backslashes, NUL, and names that
    are not valid UTF-8 (they could not be restored on another machine).
    """
    if not isinstance(path, str) or not path:
        raise _unsafe(path, "it is empty")
    if "\x00" in path or "\\" in path:
        raise _unsafe(path, "it contains a NUL or backslash")
    if path.startswith("/"):
        raise _unsafe(path, "it is absolute")
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise _unsafe(path, "it has an empty, '.' or '..' component")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise _unsafe(path, "it is not valid UTF-8") from None
    return path


def check_name(name: str, rel: str) -> None:
    """Check one folder entry name found on disk (cheap: the OS already rules out '/', NUL,
    '.' and '..'); ``rel`` is the tree path it would get, for the message."""
    if "\\" in name:
        raise _unsafe(rel, "it contains a backslash")
    if not name.isascii():
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise _unsafe(rel, "it is not valid UTF-8") from None


def is_within(child: str, parent: str) -> bool:
    """True when real path ``child`` is ``parent`` or below it."""
    return child == parent or child.startswith(parent.rstrip(os.sep) + os.sep)


def safe_join(dest_real: Path, rel: str) -> Path:
    """``dest_real / rel``, refusing a path that escapes ``dest_real`` (including via symlinked
    folders already present in the destination). ``dest_real`` must be a resolved path."""
    check_tree_path(rel)
    target = dest_real.joinpath(*rel.split("/"))
    if not is_within(os.path.realpath(target.parent), str(dest_real)):
        raise _unsafe(rel, f"it would be written outside {dest_real} through a symlink")
    return target


def _unsafe(path: object, why: str) -> UnsafePathError:
    return UnsafePathError(f"unsafe path {path!r}: {why}", path=str(path))
