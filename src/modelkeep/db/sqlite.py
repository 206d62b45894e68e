"""Opening a keep's SQLite file, and what its failures mean to a user.

* A database is created only when asked (``create=True``, which ``init`` passes): otherwise the
  file is opened with ``mode=rw``, so a deleted ``modelkeep.db`` is reported, never recreated.
* A file the process may not write (a read-only file or mount) is opened read-only; in a folder
  that is read-only too, SQLite cannot create the WAL index (``-shm``) it needs, so the file is
  opened ``immutable`` instead, but only when no write-ahead log is waiting beside it (an
  immutable reader would not see the log's transactions).
* Every SQLite failure that is about the file and not about modelkeep's SQL (damaged, not a
  database, read-only, disk full, locked past the busy timeout, I/O error) becomes one
  ``StorageError`` (``DiskFullError`` when full) naming the file.
"""

from __future__ import annotations

import os
import sqlite3

from modelkeep.errors import DatabaseMissingError, DiskFullError, ModelkeepError, StorageError

# primary result codes (the low byte of an extended code)
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 5, 6, 8, 10, 11, 13, 14, 26
_PERM, _PROTOCOL = 3, 15
FILE_ERRORS = {_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB, _PERM,
               _PROTOCOL}
NEARLY_FULL = 1 << 20  # bytes free below which an I/O error is taken for a full disk
BACKUP_HINT = ("restore modelkeep.db from a backup (versions, aliases and runs live only there); "
               "to start a new keep instead, move .modelkeep/ away and run 'modelkeep init'")


def missing_database(path: str, what: str) -> DatabaseMissingError:
    """The error for a keep whose database file is gone, empty or not a file."""
    return DatabaseMissingError(f"the keep's database {path} {what}", hint=BACKUP_HINT, path=path)


def connect(path: str, *, create: bool, timeout: float) -> sqlite3.Connection:
    """Open ``path`` (creating it only when ``create``), read-only when it cannot be written."""
    if not create:
        _check_present(path)
    try:
        conn = _open(path, "rwc" if create else "rw", timeout)
    except sqlite3.Error as exc:
        if _code(exc) != _CANTOPEN or create or not _read_only_folder(path):
            raise translate(exc, path, timeout) from exc
        try:  # a read-only folder: no -shm can be made, and no writer can be at work here
            conn = _open(path, "ro&immutable=1", timeout)
        except sqlite3.Error as exc2:
            raise translate(exc2, path, timeout) from exc2
    return conn


def _check_present(path: str) -> None:
    if not os.path.lexists(path):
        raise missing_database(path, "does not exist")
    if os.path.isdir(path):
        raise missing_database(path, "is a folder, not a database file")
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise StorageError(f"cannot read the keep's database {path}: {exc.strerror}",
                           hint="check the file and its permissions", path=path) from exc
    if size == 0:
        raise missing_database(path, "is empty (0 bytes)")


def _open(path: str, mode: str, timeout: float) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{uri_path(path)}?mode={mode}", uri=True, timeout=timeout,
                           isolation_level=None, check_same_thread=False)
    try:
        conn.row_factory = sqlite3.Row
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal" and "ro" not in mode:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError as exc:  # a read-only file keeps its journal mode
                if _code(exc) != _READONLY:
                    raise
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    except BaseException:
        conn.close()
        raise
    return conn


def uri_path(path: str) -> str:
    """``path`` escaped for a ``file:`` URI (only %, ? and # mean something there; importing
    urllib.parse for this would cost start-up time)."""
    return path.replace("%", "%25").replace("?", "%3F").replace("#", "%23")


def _read_only_folder(path: str) -> bool:
    folder = os.path.dirname(os.path.abspath(path))
    wal = f"{path}-wal"
    log_waiting = os.path.exists(wal) and os.path.getsize(wal) > 0
    return (os.path.isfile(path) and os.access(path, os.R_OK)
            and not os.access(folder, os.W_OK) and not log_waiting)


def _code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def is_file_error(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite failing at the file (not at a statement or a constraint)."""
    return isinstance(exc, sqlite3.Error) and _code(exc) in FILE_ERRORS


def _nearly_full(path: str) -> bool:
    """Whether the disk holding ``path`` has (almost) no space left: SQLite reports a full disk
    as an I/O error when it is its shared-memory index (``-shm``) that cannot grow."""
    try:
        st = os.statvfs(os.path.dirname(os.path.abspath(path)))
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < NEARLY_FULL


def translate(exc: BaseException, path: str, timeout: float) -> ModelkeepError:
    """The one-line error for a SQLite failure at the file ``path``."""
    code = _code(exc)
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if code == _FULL or (code in (_IOERR, _CANTOPEN) and _nearly_full(path)):
        return DiskFullError(f"no space left for the keep's database {path}",
                             hint="free some space and try again; nothing was changed",
                             path=path)
    if code in (_BUSY, _LOCKED):
        return StorageError(
            f"the keep's database {path} is locked: another process held it for over "
            f"{timeout:g} s", hint="try again when the other modelkeep command has finished",
            path=path, reason="locked")
    if code == _READONLY or (code == _CANTOPEN and not os.access(path, os.W_OK)):
        return StorageError(f"the keep's database {path} is read-only; this command writes",
                            hint="run it where the keep is writable; list, show and fsck work "
                            "on a read-only keep", path=path, reason="read_only")
    if code in (_CORRUPT, _NOTADB):
        return StorageError(f"the keep's database {path} is damaged: {detail}",
                            hint=BACKUP_HINT, path=path, reason="damaged")
    return StorageError(f"cannot use the keep's database {path}: {detail}",
                        hint="check the file, its folder and the disk", path=path)
