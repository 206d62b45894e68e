"""A thin DB-API layer over SQLite (stdlib ``sqlite3``) and PostgreSQL (``psycopg`` 3).

Why not SQLAlchemy at run time: importing SQLAlchemy costs 160-230 ms on this machine, more than
the whole 150 ms start-up budget of ``modelkeep list`` (docs/architecture.md). SQLAlchemy and
Alembic still own the schema: migrations run through them, imported only when a keep's schema is
behind. Queries are plain SQL with ``:name`` parameters, which both drivers run unchanged
(PostgreSQL's ``%(name)s`` style is produced once per statement and cached).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from functools import lru_cache
from typing import Any, NoReturn, Protocol

from modelkeep.db import sqlite
from modelkeep.errors import InvalidInputError, MissingDependencyError, StorageError
from modelkeep.redact import mask_known, redact_url, url_secrets

Row = dict[str, Any]
BUSY_TIMEOUT = 60.0  # seconds a statement waits for another process's write lock
_NAMED_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=512)
def _to_pyformat(sql: str) -> str:
    """Rewrite ``:name`` parameters as psycopg's ``%(name)s`` (and escape literal %)."""
    return _NAMED_PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


def _pg_operational() -> type[BaseException]:
    import psycopg

    return psycopg.OperationalError


def _sqlite_path(url: str) -> str:
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise InvalidInputError(f"unsupported SQLite URL {url!r}", hint="use sqlite:///PATH")
    return url[len(prefix):]


def _require_psycopg() -> None:
    """MissingDependencyError, naming the extra to install, when psycopg is not importable."""
    try:
        import psycopg  # noqa: F401  (imported anyway by the first query)
    except ImportError:
        raise MissingDependencyError(
            "a PostgreSQL database needs the postgres extra, which is not installed",
            hint="pip install 'modelkeep[postgres]'", extra="postgres",
        ) from None


class SchemaGuard(Protocol):
    """What a database whose schema is not this modelkeep's consults (db/migrate.py)."""

    def before_write(self) -> None:
        """Migrate, or refuse, before the first write transaction."""

    def explain(self, exc: BaseException) -> Exception | None:
        """The error to raise instead of ``exc`` when the schema is why it failed."""


class Database:
    """One metadata database; a connection per thread, short transactions.

    ``write()`` takes the database write lock at the start of the transaction (SQLite
    ``BEGIN IMMEDIATE``), so read-then-insert sequences such as "next version number" are
    serialised across processes.
    """

    def __init__(self, url: str, *, create: bool = False, timeout: float | None = None) -> None:
        self.url = url
        self.dialect = "sqlite" if url.startswith("sqlite:") else "postgresql"
        if self.dialect == "postgresql" and not url.startswith(("postgresql", "postgres")):
            raise InvalidInputError(
                f"unsupported database URL {redact_url(url)!r}",
                hint="use sqlite:///PATH or postgresql://USER@HOST/DB",
            )
        self.create = create  # only ``init`` creates a SQLite file (db/sqlite.py)
        self.timeout = BUSY_TIMEOUT if timeout is None else timeout
        if self.dialect == "postgresql":
            _require_psycopg()
        self._local = threading.local()
        # set when the schema is behind or ahead of this modelkeep's: consulted before the
        # first write and when a statement fails (opening a keep never migrates)
        self.schema_guard: SchemaGuard | None = None

    @property
    def location(self) -> str:
        """What to name in messages: the SQLite file, or the PostgreSQL URL without password."""
        if self.dialect == "sqlite":
            return _sqlite_path(self.url)
        return redact_url(self.url)

    @property
    def writable(self) -> bool:
        """False when the SQLite file or its folder cannot be written (a read-only keep)."""
        if self.dialect != "sqlite":
            return True
        path = os.path.abspath(_sqlite_path(self.url))
        return os.access(path, os.W_OK) and os.access(os.path.dirname(path), os.W_OK)

    def _reraise(self, exc: BaseException) -> NoReturn:
        """Re-raise the exception being handled: as a one-line modelkeep error when it is about
        the database itself (damaged, read-only, full, locked, unreachable), else unchanged (a
        bug in a statement, or a constraint the caller handles)."""
        if self.dialect == "sqlite":
            if sqlite.is_file_error(exc):
                raise sqlite.translate(exc, self.location, self.timeout) from exc
        elif type(exc).__module__.startswith("psycopg") and isinstance(exc, _pg_operational()):
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StorageError(f"the keep's database {self.location} failed: {detail}",
                               hint="check the PostgreSQL server and try again",
                               path=self.location) from exc
        guard = self.schema_guard
        explained = guard.explain(exc) if guard is not None else None
        if explained is not None:
            raise explained from exc
        raise exc

    # connections -------------------------------------------------------------------------

    def _connect(self) -> Any:
        if self.dialect == "sqlite":
            return sqlite.connect(_sqlite_path(self.url), create=self.create,
                                  timeout=self.timeout)
        import psycopg
        from psycopg.rows import dict_row

        url = self.url.replace("postgresql+psycopg://", "postgresql://", 1)
        try:
            return psycopg.connect(url, autocommit=True, row_factory=dict_row)
        except psycopg.OperationalError as exc:
            cause = mask_known(str(exc).strip().splitlines()[0], url_secrets(self.url))
            raise StorageError(
                f"cannot connect to PostgreSQL at {redact_url(self.url)}: {cause}",
                hint="check the server is running and the URL (MODELKEEP_DATABASE_URL)",
            ) from exc

    @property
    def connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            self._local.depth = 0
        return conn

    def alive(self) -> bool:
        """Whether this thread's connection still works (a server may have dropped it: a
        restart, an idle timeout). SQLite's always does; PostgreSQL's is asked (one round
        trip). A dead connection is closed, so the next use connects again."""
        conn = getattr(self._local, "conn", None)
        if conn is None or self.dialect == "sqlite":
            return True
        try:
            conn.execute("SELECT 1")
            return True
        except Exception:  # any failure: this connection is of no further use
            self.close()
            return False

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # statements --------------------------------------------------------------------------

    def _sql(self, sql: str) -> str:
        return sql if self.dialect == "sqlite" else _to_pyformat(sql)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        """Run one statement; returns the driver cursor."""
        try:
            return self.connection.execute(self._sql(sql), dict(params or {}))
        except Exception as exc:
            self._reraise(exc)

    def executemany(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run one statement for many parameter sets."""
        if not rows:
            return
        try:
            if self.dialect == "sqlite":
                self.connection.executemany(sql, rows)
            else:
                with self.connection.cursor() as cur:
                    cur.executemany(self._sql(sql), rows)
        except Exception as exc:
            self._reraise(exc)

    def executemany_positional(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """Many rows for a statement with ``?`` placeholders, as plain tuples: the hot path of
        metric logging, where building a dict per row would double the cost."""
        try:
            if self.dialect == "sqlite":
                self.connection.executemany(sql, rows)
                return
            with self.connection.cursor() as cur:
                cur.executemany(sql.replace("?", "%s"), rows)
        except Exception as exc:
            self._reraise(exc)

    def query_tuples(self, sql: str, params: Mapping[str, Any] | None = None
                     ) -> list[tuple[Any, ...]]:
        """All rows of a query as plain tuples (cheaper than dicts for long reads)."""
        if self.dialect == "sqlite":
            try:
                cur = self.connection.cursor()
                cur.row_factory = None
                return cur.execute(sql, dict(params or {})).fetchall()
            except Exception as exc:
                self._reraise(exc)
        return [tuple(r.values()) for r in self.query(sql, params)]

    @property
    def in_transaction(self) -> bool:
        """Whether this thread is inside ``write()``."""
        return bool(getattr(self._local, "depth", 0))

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        """All rows of a query as dicts."""
        cur = self.execute(sql, params)
        try:
            return [dict(r) for r in cur.fetchall()]
        except Exception as exc:
            self._reraise(exc)

    def query_one(self, sql: str, params: Mapping[str, Any] | None = None) -> Row | None:
        """The first row of a query, or None."""
        cur = self.execute(sql, params)
        try:
            row = cur.fetchone()
        except Exception as exc:
            self._reraise(exc)
        return dict(row) if row is not None else None

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row, or None."""
        row = self.query_one(sql, params)
        return None if row is None else next(iter(row.values()))

    @contextmanager
    def write(self) -> Iterator[Database]:
        """A write transaction holding the database write lock; nested calls join the outer one.
        The first one on a database whose schema is not current lets the guard migrate or refuse."""
        guard = self.schema_guard
        if guard is not None and not self.in_transaction:
            guard.before_write()
        conn = self.connection
        if self._local.depth:
            self._local.depth += 1
            try:
                yield self
            finally:
                self._local.depth -= 1
            return
        self.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
        self._local.depth = 1
        try:
            yield self
        except BaseException:
            with suppress(Exception):  # a failed COMMIT (disk full) has rolled back already
                conn.execute("ROLLBACK")
            raise
        else:
            try:
                conn.execute("COMMIT")
            except Exception as exc:
                with suppress(Exception):
                    conn.execute("ROLLBACK")
                self._reraise(exc)
        finally:
            self._local.depth = 0

    def lock_row(self, table: str, row_id: int) -> None:
        """Lock one row for the rest of the transaction (PostgreSQL; SQLite locks the database)."""
        if self.dialect == "postgresql":
            self.execute(f"SELECT id FROM {table} WHERE id = :id FOR UPDATE", {"id": row_id})

    def lock_named(self, name: str) -> None:
        """Hold the lock called ``name`` for the rest of this write transaction, so that every
        transaction taking it runs one after the other (PostgreSQL: a transaction-level
        advisory lock; SQLite: ``write()``'s ``BEGIN IMMEDIATE`` already serialises writers)."""
        if not self.in_transaction:
            raise RuntimeError("lock_named() needs an open write() transaction")
        if self.dialect == "postgresql":
            import hashlib

            key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big",
                                 signed=True)
            self.execute("SELECT pg_advisory_xact_lock(:key)", {"key": key})
