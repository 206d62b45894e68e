"""``.gitattributes`` for a Git LFS export: a pattern naming exactly one file, whatever its name,
merged into the attribute files a version already carries.

Git reads a pattern as a glob (``* ? [ ] \\`` are special, and ``# !`` at the start of a line),
and a line as ``pattern attr attr...`` split on whitespace. A pattern that starts with ``"`` is
C-quoted (git 1.8.x and later, and git-lfs, read it): so a name is first glob-escaped with
backslashes, then quoted when it holds whitespace, a ``"`` or a control character.

The files git itself reads from the working tree (``.gitattributes``, ``.gitignore``,
``.gitmodules``, ``.lfsconfig``) are never LFS pointers: git would read the pointer's text.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from pathlib import Path

from modelkeep.storage.durable import write_file_atomic
from modelkeep.storage.paths import safe_join

GIT_OWN_FILES = frozenset({".gitattributes", ".gitignore", ".gitmodules", ".lfsconfig"})
ATTRIBUTES_FILE = ".gitattributes"
LFS_ATTRIBUTES = "filter=lfs diff=lfs merge=lfs -text"

_GLOB_SPECIAL = re.compile(r"([\\*?\[\]!#])")
_NEEDS_QUOTES = re.compile(r'[\s"\x00-\x1f\x7f]')
_C_ESCAPES = {"\\": "\\\\", '"': '\\"', "\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n",
              "\v": "\\v", "\f": "\\f", "\r": "\\r"}


def is_git_file(path: str) -> bool:
    """True for a file git reads itself (``.gitattributes`` and the like): never an LFS pointer."""
    return posixpath.basename(path) in GIT_OWN_FILES


def exact_pattern(path: str) -> str:
    """The ``.gitattributes`` pattern that matches the file at ``path`` (relative to the folder
    of the attributes file) and nothing else."""
    glob = "/" + _GLOB_SPECIAL.sub(r"\\\1", path)
    if not _NEEDS_QUOTES.search(glob):
        return glob
    return '"' + "".join(_c_escape(ch) for ch in glob) + '"'


def _c_escape(ch: str) -> str:
    if ch in _C_ESCAPES:
        return _C_ESCAPES[ch]
    if ch < " " or ch == "\x7f":
        return f"\\{ord(ch):03o}"
    return ch


def lfs_lines_by_folder(paths: Iterable[str], folders: set[str]) -> dict[str, list[str]]:
    """folder -> the LFS lines its ``.gitattributes`` needs: each path goes to the nearest
    folder of ``folders`` above it (``""`` is the root), whose rules take precedence for it."""
    out: dict[str, list[str]] = {}
    for path in paths:
        folder = posixpath.dirname(path)
        while folder and folder not in folders:
            folder = posixpath.dirname(folder)
        rel = path[len(folder) + 1:] if folder else path
        out.setdefault(folder, []).append(f"{exact_pattern(rel)} {LFS_ATTRIBUTES}")
    return out


def merge_attributes(version_text: str, existing_text: str, lines: list[str]) -> str:
    """The version's own ``.gitattributes`` text unchanged, then the lines of the file already
    in the destination that it lacks, then ``lines`` not yet present (last, so they win)."""
    out = version_text
    have = {line.strip() for line in version_text.splitlines()}
    for line in [*existing_text.splitlines(), *lines]:
        if line.strip() and line.strip() not in have:
            if out and not out.endswith("\n"):
                out += "\n"
            out += line + "\n"
            have.add(line.strip())
    return out


def write_git_files(dest: Path, own: dict[str, tuple[bytes, Path]], lfs_paths: list[str]) -> None:
    """Write the version's own git files, each ``.gitattributes`` merged with modelkeep's lines
    (and with the one already in ``dest``, if any)."""
    folders = {posixpath.dirname(p) for p in own if posixpath.basename(p) == ATTRIBUTES_FILE}
    lines = lfs_lines_by_folder(lfs_paths, folders | {""})
    for folder in sorted(folders | set(lines)):
        rel = posixpath.join(folder, ATTRIBUTES_FILE)
        version_text = own[rel][0].decode("utf-8", "surrogateescape") if rel in own else ""
        target = safe_join(dest, rel)
        existing = target.read_bytes().decode("utf-8", "surrogateescape") if target.is_file() else ""
        text = merge_attributes(version_text, existing, lines.get(folder, []))
        if text != existing or not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            write_file_atomic(target, text.encode("utf-8", "surrogateescape"), durable=False)
    for rel, (content, target) in own.items():
        if posixpath.basename(rel) != ATTRIBUTES_FILE:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_file_atomic(target, content, durable=False)
