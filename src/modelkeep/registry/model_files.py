"""Which files of a folder belong to a model: everything but modelkeep's own bookkeeping.

``register .`` in a project holding the keep must not store the keep (``.modelkeep/``) inside
a model, nor the ``.mk`` pointer files ``modelkeep add`` wrote, nor the ``/NAME`` lines it
added to a ``.gitignore`` beside them. A ``.mk`` file that is not a modelkeep pointer (a
Makefile fragment) is the user's and is kept; a ``.gitignore`` keeps the user's own lines and
is left out only when nothing else remains.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from modelkeep.config import KEEP_DIRNAME
from modelkeep.errors import ModelkeepError
from modelkeep.storage.paths import POINTER_SUFFIX
from modelkeep.storage.walk import SourceFile


class ModelFiles:
    """What to leave out of a folder: ``exclude`` globs for the scan, then ``select`` over the
    files found (pointers and their ``.gitignore`` lines); filtered copies go in ``tmp_dir``."""

    def __init__(self, tmp_dir: Path) -> None:
        self.exclude = [KEEP_DIRNAME, f"*/{KEEP_DIRNAME}"]
        self._tmp_dir = tmp_dir
        self._written: list[str] = []

    def select(self, files: list[SourceFile]) -> list[SourceFile]:
        """``files`` without modelkeep's pointers, and with its lines out of ``.gitignore``s."""
        ours: dict[str, set[str]] = {}  # folder prefix -> the .gitignore lines modelkeep wrote
        pointers = set()
        for f in files:
            if f.rel.endswith(POINTER_SUFFIX) and _is_pointer(f.path):
                from modelkeep.storage.pointers import gitignore_line, target_for

                pointers.add(f.rel)
                folder, _, _ = f.rel.rpartition("/")
                ours.setdefault(folder, set()).add(gitignore_line(target_for(Path(f.rel))))
        if not pointers:
            return files
        chosen = []
        for f in files:
            if f.rel in pointers:
                continue
            folder, _, name = f.rel.rpartition("/")
            kept = self._without(f, ours[folder]) if name == ".gitignore" and folder in ours else f
            if kept is not None:
                chosen.append(kept)
        return chosen

    def _without(self, f: SourceFile, lines: set[str]) -> SourceFile | None:
        """``f`` with ``lines`` taken out: itself if none was there, None if nothing is left."""
        text = f.path.read_text(encoding="utf-8", errors="surrogateescape")
        kept = [line for line in text.splitlines() if line.strip() not in lines]
        if len(kept) == len(text.splitlines()):
            return f
        if not any(line.strip() for line in kept):
            return None
        import tempfile  # here: tempfile pulls shutil (bz2, lzma) and random into start-up

        handle, name = tempfile.mkstemp(dir=self._tmp_dir, suffix=".gitignore")
        with os.fdopen(handle, "w", encoding="utf-8", errors="surrogateescape") as out:
            out.write("\n".join(kept) + "\n")
        self._written.append(name)
        return SourceFile(f.rel, name, os.stat(name))

    def close(self) -> None:
        """Remove the filtered copies."""
        for name in self._written:
            Path(name).unlink(missing_ok=True)


def _is_pointer(path: Path) -> bool:
    from modelkeep.storage.pointers import read_pointer

    try:
        read_pointer(path)
    except ModelkeepError:
        return False
    return True


@contextmanager
def model_files(tmp_dir: Path) -> Iterator[ModelFiles]:
    """A ``ModelFiles`` whose filtered copies are removed when the block ends."""
    chosen = ModelFiles(tmp_dir)
    try:
        yield chosen
    finally:
        chosen.close()
