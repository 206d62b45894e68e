"""A thin DB-API layer over SQLite (stdlib ``sqlite3``) and PostgreSQL (``psycopg`` 3).

Why not SQLAlchemy at run time: importing SQLAlchemy costs 160-230 ms on this machine, more than
the whole 150 ms start-up budget of ``modelkeep list`` (docs/architecture.md). SQLAlchemy and
Alembic still own the schema: migrations run through them, imported only when a keep's schema is
behind. Queries are plain SQL with ``:name`` parameters, which both drivers run unchanged
(PostgreSQL's ``%(name)s`` style is produced once per statement and cached).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from modelkeep.errors import InvalidInputError, StorageError

Row = dict[str, Any]
_NAMED_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=512)
def _to_pyformat(sql: str) -> str:
    """Rewrite ``:name`` parameters as psycopg's ``%(name)s`` (and escape literal %)."""
    return _NAMED_PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


def _sqlite_path(url: str) -> str:
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise InvalidInputError(f"unsupported SQLite URL {url!r}", hint="use sqlite:///PATH")
    return url[len(prefix):]


class Database:
    """One metadata database; a connection per thread, short transactions.

    ``write()`` takes the database write lock at the start of the transaction (SQLite
    ``BEGIN IMMEDIATE``), so read-then-insert sequences such as "next version number" are
    serialised across processes.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = "sqlite" if url.startswith("sqlite:") else "postgresql"
        if self.dialect == "postgresql" and not url.startswith(("postgresql", "postgres")):
            raise InvalidInputError(
                f"unsupported database URL {url!r}",
                hint="use sqlite:///PATH or postgresql://USER@HOST/DB",
            )
        self._local = threading.local()

    # connections -------------------------------------------------------------------------

    def _connect(self) -> Any:
        if self.dialect == "sqlite":
            conn = sqlite3.connect(
                _sqlite_path(self.url), timeout=60, isolation_level=None,
                check_same_thread=False,
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=60000")
            return conn
        import psycopg
        from psycopg.rows import dict_row

        url = self.url.replace("postgresql+psycopg://", "postgresql://", 1)
        try:
            return psycopg.connect(url, autocommit=True, row_factory=dict_row)
        except psycopg.OperationalError as exc:
            raise StorageError(
                f"cannot connect to PostgreSQL at {self.url}: {str(exc).strip().splitlines()[0]}",
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
        return self.connection.execute(self._sql(sql), dict(params or {}))

    def executemany(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run one statement for many parameter sets."""
        if not rows:
            return
        if self.dialect == "sqlite":
            self.connection.executemany(sql, rows)
        else:
            with self.connection.cursor() as cur:
                cur.executemany(self._sql(sql), rows)

    def executemany_positional(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """Many rows for a statement with ``?`` placeholders, as plain tuples: the hot path of
        metric logging, where building a dict per row would double the cost."""
        if self.dialect == "sqlite":
            self.connection.executemany(sql, rows)
            return
        with self.connection.cursor() as cur:
            cur.executemany(sql.replace("?", "%s"), rows)

    def query_tuples(self, sql: str, params: Mapping[str, Any] | None = None
                     ) -> list[tuple[Any, ...]]:
        """All rows of a query as plain tuples (cheaper than dicts for long reads)."""
        if self.dialect == "sqlite":
            cur = self.connection.cursor()
            cur.row_factory = None
            return cur.execute(sql, dict(params or {})).fetchall()
        return [tuple(r.values()) for r in self.query(sql, params)]

    @property
    def in_transaction(self) -> bool:
        """Whether this thread is inside ``write()``."""
        return bool(getattr(self._local, "depth", 0))

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        """All rows of a query as dicts."""
        return [dict(r) for r in self.execute(sql, params).fetchall()]

    def query_one(self, sql: str, params: Mapping[str, Any] | None = None) -> Row | None:
        """The first row of a query, or None."""
        row = self.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row, or None."""
        row = self.execute(sql, params).fetchone()
        if row is None:
            return None
        return row[0] if self.dialect == "sqlite" else next(iter(row.values()))

    @contextmanager
    def write(self) -> Iterator[Database]:
        """A write transaction holding the database write lock; nested calls join the outer one."""
        conn = self.connection
        if self._local.depth:
            self._local.depth += 1
            try:
                yield self
            finally:
                self._local.depth -= 1
            return
        conn.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
        self._local.depth = 1
        try:
            yield self
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
        finally:
            self._local.depth = 0

    def lock_row(self, table: str, row_id: int) -> None:
        """Lock one row for the rest of the transaction (PostgreSQL; SQLite locks the database)."""
        if self.dialect == "postgresql":
            self.execute(f"SELECT id FROM {table} WHERE id = :id FOR UPDATE", {"id": row_id})

    def is_unique_violation(self, exc: BaseException) -> bool:
        """Whether ``exc`` is the driver's unique-constraint error."""
        if isinstance(exc, sqlite3.IntegrityError):
            return "UNIQUE" in str(exc)
        return type(exc).__name__ == "UniqueViolation"
