"""The private, verified folder a version is loaded from.

A loader never reads the user's working folder or the object store's files in place: the
version's artifacts (and its code snapshot, when it has one) are checked out into a fresh
temporary folder only this user can read, with every file hashed as it is written
(``storage.checkout``, ``verify=True``; copies or copy-on-write clones, never hard links, so
the model cannot edit the store through its files). Code runs only from those verified bytes.
The folder goes when the loaded model is closed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from modelkeep.errors import InvalidMetadataError, UnsafePathError
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.statcache import StatCache
from modelkeep.storage.tree import read_tree

# suffixes a loader kind reads when the spec names no file
SUFFIXES: dict[str, tuple[str, ...]] = {
    "onnx": (".onnx",),
    "skops": (".skops",),
    "safetensors": (".safetensors",),
    "pickle": (".pkl", ".pickle"),
}


class _Unrecorded(StatCache):
    """The stat cache of a throwaway checkout: records nothing, so saving waits for nothing
    (the keep's own cache would wait out a timestamp tick and remember files about to go)."""

    def record(self, *args: Any, **kwargs: Any) -> None:
        return None

    def save(self) -> None:
        return None


def unrecorded() -> StatCache:
    """A stat cache for checkouts into throwaway folders (see ``_Unrecorded``)."""
    return _Unrecorded()


@dataclass(frozen=True)
class Workspace:
    """A version's files, checked out and verified: ``artifacts`` and ``code`` (or None)."""

    folder: Path
    artifacts: Path
    code: Path | None

    @property
    def roots(self) -> list[Path]:
        """Where entry points are imported from: the code snapshot first, then the artifacts."""
        return [p for p in (self.code, self.artifacts) if p is not None]

    def remove(self) -> None:
        """Delete the folder (a failed load leaves nothing behind)."""
        import shutil  # here, not at the top: shutil pulls bz2 and lzma into every command's start-up

        shutil.rmtree(self.folder, ignore_errors=True)


def safe_relative(path: str, what: str) -> str:
    """``path`` if it is a plain relative path inside the artifacts (no '..', not absolute)."""
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or ".." in pure.parts or "\\" in path:
        raise UnsafePathError(f"{what} '{path}' is not a relative path inside the artifacts",
                              path=path)
    return str(pure)


def model_file(store: ObjectStore, tree_id: str, kind: str, named: str | None) -> str:
    """The artifact a ``kind`` loader reads: ``named``, or the only file with its suffix."""
    paths = [e.path for e in read_tree(store, tree_id)]
    if named is not None:
        wanted = safe_relative(named, "loader file")
        if wanted not in paths:
            raise InvalidMetadataError(f"the loader's file '{named}' is not in the version's "
                                       "artifacts", hint="name a file the version holds: "
                                       "modelkeep show NAME@VERSION --json", path=named)
        return wanted
    found = [p for p in paths if p.lower().endswith(SUFFIXES[kind])]
    if len(found) != 1:
        which = "no" if not found else f"{len(found)}"
        raise InvalidMetadataError(
            f"the {kind} loader needs one {'/'.join(SUFFIXES[kind])} file, the artifacts hold "
            f"{which}", hint=f"name it: --loader {kind}:FILE (technical.loader.file)")
    return found[0]


def open_workspace(store: ObjectStore, tree_id: str, code_tree: str | None,
                   patterns: Sequence[str] | None = None) -> Workspace:
    """Check out (verified) the artifacts tree, or the files matching ``patterns``, and the
    code snapshot into a new private temporary folder."""
    import shutil  # here: shutil and tempfile pull bz2, lzma and random into start-up
    import tempfile

    from modelkeep.storage.checkout import checkout  # loaded with the first version

    folder = Path(tempfile.mkdtemp(prefix="modelkeep-load-"))
    os.chmod(folder, 0o700)
    try:
        artifacts = folder / "artifacts"
        checkout(store, tree_id, artifacts, link="auto", verify=True, stat_cache=unrecorded(),
                 patterns=list(patterns) if patterns is not None else None)
        code = None
        if code_tree:
            code = folder / "code"
            checkout(store, code_tree, code, link="auto", verify=True, stat_cache=unrecorded())
        return Workspace(folder, artifacts, code)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def loader_of(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The snapshot's ``technical.loader`` (empty when none is declared)."""
    return dict(((meta.get("technical") or {}).get("loader")) or {})


def signature_of(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The snapshot's ``technical.signature`` (declared or inferred)."""
    return dict(((meta.get("technical") or {}).get("signature")) or {})
