"""A consistent copy of a SQLite database, made before a migration changes its schema.

SQLite's online backup API copies pages through SQLite itself, so a database in WAL mode is
copied with the transactions still in its write-ahead log and never half-way through another
process's write (a plain file copy of ``modelkeep.db`` could miss the log or tear a page).
The copy is written under a temporary name, fsynced, then renamed: a backup that exists is
whole. An older backup is never overwritten: a second one gets a numeric suffix.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from modelkeep.db.sqlite import uri_path
from modelkeep.errors import StorageError


def backup_path(database: Path, revision: str) -> Path:
    """The first free name ``modelkeep.db.bak-REV``, ``modelkeep.db.bak-REV.1``, ... beside it."""
    candidate = database.with_name(f"{database.name}.bak-{revision}")
    number = 0
    while candidate.exists():
        number += 1
        candidate = database.with_name(f"{database.name}.bak-{revision}.{number}")
    return candidate


def backup_sqlite(database: str | Path, revision: str) -> Path:
    """Copy the SQLite file ``database`` (at schema ``revision``) beside itself; returns where."""
    source_path = Path(database)
    try:
        return _copy(source_path, backup_path(source_path, revision))
    except (OSError, sqlite3.Error) as exc:
        detail = getattr(exc, "strerror", None) or str(exc)
        raise StorageError(f"cannot back up the keep's database {source_path} before migrating "
                           f"it: {detail}", hint="free space or make its folder writable; the "
                           "database was not changed", path=str(source_path)) from exc


def _copy(source_path: Path, target: Path) -> Path:
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    source = sqlite3.connect(f"file:{uri_path(str(source_path))}?mode=ro", uri=True)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)  # WAL mode travels in the header, as in the original
        finally:
            copy.close()  # the last connection: its log is checkpointed, one whole file
        with open(partial, "rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, target)
        folder = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    return target
