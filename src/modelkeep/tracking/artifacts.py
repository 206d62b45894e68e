"""Files a run produced (checkpoints, plots, reports), each stored as a tree and listed by name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelkeep.clock import now_iso
from modelkeep.db.database import Database
from modelkeep.errors import PathNotFoundError
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.tree import add_path
from modelkeep.tracking.values import check_name


def store_artifact(db: Database, store: ObjectStore, run_pk: int, path: Path, *,
                   name: str | None = None, progress: Callable[[int, int], None] | None = None
                   ) -> dict[str, Any]:
    """Store the file or folder at ``path`` and record it on the run under ``name``."""
    path = Path(path)
    label = check_name(name or path.resolve().name, "artifact")
    if not path.exists():
        raise PathNotFoundError(f"artifact path '{path}' does not exist; nothing was logged",
                                hint="check the path", path=str(path))
    try:
        tree = add_path(store, path, progress=progress)
    except FileNotFoundError as exc:
        raise PathNotFoundError(f"artifact path '{path}' vanished while it was being stored",
                                hint="log it again once the files are in place",
                                path=str(path)) from exc
    row = {"name": label, "tree_id": tree.tree_id, "size": tree.size, "files": tree.files,
           "logged_at": now_iso()}
    with db.write():
        db.execute(
            "INSERT INTO run_artifacts (run_id, name, tree_id, size, files, logged_at) "
            "VALUES (:r, :name, :tree_id, :size, :files, :logged_at)", {"r": run_pk, **row})
    return row


def run_artifacts(db: Database, run_pk: int) -> list[dict[str, Any]]:
    """A run's artifacts, oldest first."""
    return db.query("SELECT name, tree_id, size, files, logged_at FROM run_artifacts "
                    "WHERE run_id = :r ORDER BY id", {"r": run_pk})
