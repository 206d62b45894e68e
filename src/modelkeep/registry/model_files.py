"""Which files of a folder belong to a model: everything but modelkeep's own bookkeeping.

``register .`` in a project holding the keep must not store the keep (``.modelkeep/``) inside
a model, nor the ``.mk`` pointer files ``modelkeep add`` wrote, nor the ``/NAME`` lines it
added to a ``.gitignore`` beside them. A ``.mk`` file that is not a modelkeep pointer (a
Makefile fragment) is the user's and is kept; a ``.gitignore`` keeps the user's own lines and
is left out only when nothing else remains.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from modelkeep.config import KEEP_DIRNAME
from modelkeep.errors import ModelkeepError
from modelkeep.storage.pointers import (
    POINTER_SUFFIX,
    find_pointers,
    gitignore_line,
    read_pointer,
    target_for,
)
from modelkeep.storage.walk import SourceFile


@dataclass
class ModelFiles:
    """What to leave out of a folder (globs over tree paths) and files to store instead."""

    exclude: list[str] = field(default_factory=list)
    extra: list[SourceFile] = field(default_factory=list)


def _glob_literal(path: str) -> str:
    """A glob matching exactly ``path`` (fnmatch has no escape character: use classes)."""
    return "".join(f"[{c}]" if c in "*?[]" else c for c in path)


def _is_pointer(path: Path) -> bool:
    try:
        read_pointer(path)
    except ModelkeepError:
        return False
    return True


@contextmanager
def model_files(root: Path, tmp_dir: Path) -> Iterator[ModelFiles]:
    """What of ``root`` (a folder or a file) to register; filtered ``.gitignore`` copies live
    in ``tmp_dir`` until the block ends."""
    chosen = ModelFiles([KEEP_DIRNAME, f"*/{KEEP_DIRNAME}"])
    root = Path(root)
    if not root.is_dir():
        yield chosen
        return
    ours: dict[Path, set[str]] = {}  # folder -> the .gitignore lines modelkeep wrote there
    for pointer in find_pointers(root):
        if pointer.name.endswith(POINTER_SUFFIX) and _is_pointer(pointer):
            rel = pointer.relative_to(root).as_posix()
            chosen.exclude.append(_glob_literal(rel))
            ours.setdefault(pointer.parent, set()).add(gitignore_line(target_for(pointer)))
    written: list[str] = []
    try:
        for folder, lines in sorted(ours.items()):
            ignore = folder / ".gitignore"
            if not ignore.is_file():
                continue
            text = ignore.read_text(encoding="utf-8", errors="surrogateescape")
            kept = [line for line in text.splitlines() if line.strip() not in lines]
            rel = ignore.relative_to(root).as_posix()
            if len(kept) == len(text.splitlines()):
                continue
            chosen.exclude.append(_glob_literal(rel))
            if any(line.strip() for line in kept):
                handle, name = tempfile.mkstemp(dir=tmp_dir, suffix=".gitignore")
                with os.fdopen(handle, "w", encoding="utf-8", errors="surrogateescape") as f:
                    f.write("\n".join(kept) + "\n")
                written.append(name)
                chosen.extra.append(SourceFile(rel, name, os.stat(name)))
        yield chosen
    finally:
        for name in written:
            Path(name).unlink(missing_ok=True)
