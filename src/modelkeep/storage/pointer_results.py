"""What ``add`` and restoring ``.mk`` pointers return: frozen result types with their JSON form."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelkeep.storage.pointers import Pointer
from modelkeep.storage.transfer import TransferStats


@dataclass(frozen=True)
class AddedPath:
    """A file or folder ``add`` stored: the path given, its pointer file, what the pointer says."""

    path: Path
    pointer_path: Path
    pointer: Pointer

    def to_dict(self) -> dict[str, Any]:
        """JSON form: path, pointer, kind, tree, size, files, sha256."""
        p = self.pointer
        return {"path": str(self.path), "pointer": str(self.pointer_path), "kind": p.kind,
                "tree": p.tree_id, "size": p.size, "files": p.files, "sha256": p.sha256}

    def __iter__(self) -> Iterator[Any]:
        """``pointer_path, pointer = keep.add(...)``, as scripts unpacked it before."""
        return iter((self.pointer_path, self.pointer))


@dataclass(frozen=True)
class RestoredPointers:
    """The pointer targets restored as files, and what was fetched for them from a remote
    (``fetched`` False: from this keep only, so there is no transfer to tell)."""

    restored: list[str]
    transfer: TransferStats | None = None
    fetched: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``restored``, and ``transfer`` when a remote was allowed."""
        out: dict[str, Any] = {"restored": [str(p) for p in self.restored]}
        if self.fetched:
            out["transfer"] = self.transfer.to_dict() if self.transfer is not None else None
        return out

    def __iter__(self) -> Iterator[Any]:
        """``restored, transfer = keep.restore_pointers(...)``, as scripts unpacked it before."""
        return iter((self.restored, self.transfer))
