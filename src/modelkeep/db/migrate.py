"""Schema management: Alembic owns the schema from the first table on; opening never migrates.

Opening a keep only reads the database's ``alembic_version`` (a cheap check that needs no
Alembic import) and compares it with the migration files:

* at the newest revision: nothing to do;
* behind (a keep written by an older modelkeep): reads go on against the old schema (a query
  that needs a newer table or column fails as ``SchemaBehindError``). The first write migrates
  a SQLite keep, after backing up its database file next to it (``modelkeep.db.bak-REV``, made
  with SQLite's backup API); a shared database (PostgreSQL) is migrated only by ``modelkeep
  migrate``, and writes are refused until then;
* ahead (written by a newer modelkeep): reads go on (migrations only ever add tables, columns,
  indexes and triggers, so the old queries still hold), writes are refused: upgrade modelkeep.

A database with no schema at all is brought to head only by ``init`` (``create=True``):
anywhere else it is a lost or wrong database, and opening it is an error rather than a fresh
empty keep. Migrations hold a lock (a file lock beside a SQLite database, an advisory lock on
PostgreSQL) and look again under it, so concurrent writers migrate once.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from modelkeep.db.database import Database
from modelkeep.db.sqlite import BACKUP_HINT
from modelkeep.errors import (
    DatabaseMissingError,
    ModelkeepError,
    SchemaAheadError,
    SchemaBehindError,
    StorageError,
)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 0x6D6B6D6967  # "mkmig": the advisory lock PostgreSQL migrations hold
SchemaStatus = Literal["current", "behind", "ahead"]


def known_revisions() -> list[str]:
    """Every migration's revision id, oldest first (files ``NNNN_topic.py``, revision NNNN)."""
    return sorted(
        n.split("_", 1)[0]
        for n in os.listdir(MIGRATIONS_DIR / "versions")
        if n.endswith(".py") and n[:4].isdigit()
    )


def head_revision() -> str:
    """The newest migration's revision id."""
    return known_revisions()[-1]


def current_revision(db: Database) -> str | None:
    """The revision a database is at, or None for an empty database."""
    try:
        return db.scalar("SELECT version_num FROM alembic_version")
    except Exception as exc:  # missing table: the driver's own error types differ
        if "alembic_version" in str(exc):  # autocommit: no aborted transaction
            return None
        raise


def schema_status(revision: str) -> SchemaStatus:
    """Where ``revision`` stands against this modelkeep's migrations (unknown ones: ahead)."""
    if revision == head_revision():
        return "current"
    return "behind" if revision in known_revisions() else "ahead"


@dataclass(frozen=True)
class Migration:
    """What ``migrate`` did: the schema revisions before and after, and the backup it made."""

    database: str
    from_revision: str | None
    to_revision: str
    backup: str | None = None

    @property
    def migrated(self) -> bool:
        return self.from_revision != self.to_revision

    def describe(self) -> str:
        """One line for a person."""
        if not self.migrated:
            return f"the keep's database {self.database} is at schema {self.to_revision}: nothing to do"
        saved = f"; backup: {self.backup}" if self.backup else ""
        return (f"migrated the keep's database {self.database} from schema {self.from_revision} "
                f"to {self.to_revision}{saved}")

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {**asdict(self), "migrated": self.migrated}


def _alembic_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def upgrade(url: str) -> None:
    """Run every pending migration on ``url`` (imports Alembic, so only when needed)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", _alembic_url(url).replace("%", "%%"))
    command.upgrade(cfg, "head")


@contextmanager
def _exclusive(db: Database, lock_path: Path | None) -> Iterator[None]:
    """One migrator at a time: an advisory lock on PostgreSQL (every client host), a file lock
    beside a SQLite database (every process on the machine that can open it)."""
    if db.dialect == "postgresql":
        db.execute("SELECT pg_advisory_lock(:k)", {"k": _PG_LOCK_KEY})
        try:
            yield
        finally:
            db.execute("SELECT pg_advisory_unlock(:k)", {"k": _PG_LOCK_KEY})
        return
    if lock_path is None:
        yield
        return
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(lock_path, "a")  # noqa: SIM115  (closed below, after the lock is released)
    except OSError as exc:
        raise StorageError(f"cannot migrate the keep's database {db.location}: cannot write "
                           f"{lock_path} ({exc.strerror})", hint="run it where the keep is "
                           "writable; reads work on a keep that is behind", path=str(lock_path)
                           ) from exc
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def missing_schema(db: Database) -> DatabaseMissingError:
    """The error for a database with no modelkeep schema where a keep was expected."""
    return DatabaseMissingError(
        f"the keep's database {db.location} has no modelkeep schema (empty or not modelkeep's)",
        hint=BACKUP_HINT if db.dialect == "sqlite" else
        "check database_url in .modelkeep/config.toml (or MODELKEEP_DATABASE_URL) names "
        "the keep's database; 'modelkeep init --database-url URL' sets up a new one",
        path=db.location)


def migrate(db: Database, lock_path: Path | None = None, *, create: bool = False) -> Migration:
    """Bring ``db`` to the newest schema, once however many processes ask at the same time.

    A SQLite database is backed up first (next to it, never overwriting an older backup). A
    database with no schema is refused (``DatabaseMissingError``) unless ``create``; one ahead
    of this modelkeep raises ``SchemaAheadError``.
    """
    head = head_revision()
    with _exclusive(db, lock_path):
        revision = current_revision(db)  # looked at under the lock: another may have migrated
        if revision is None and not create:
            raise missing_schema(db)
        if revision is not None and schema_status(revision) == "ahead":
            raise ahead_error(db, revision)
        backup = None
        if revision is not None and revision != head and db.dialect == "sqlite":
            from modelkeep.db.backup import backup_sqlite  # only a migration backs up

            backup = str(backup_sqlite(db.location, revision))
        if revision != head:
            try:
                upgrade(db.url)
            except ModelkeepError:
                raise
            except Exception as exc:  # Alembic, the driver, the disk: say where the backup is
                detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise StorageError(
                    f"migrating the keep's database {db.location} from schema {revision} to "
                    f"{head} failed: {detail}",
                    hint=(f"restore {backup} (docs/configuration.md#upgrading), fix the cause, "
                          "then run 'modelkeep migrate'" if backup else
                          "fix the cause, then run 'modelkeep migrate' again"),
                    path=db.location, backup=backup) from exc
    return Migration(db.location, revision, head, backup)


def ahead_error(db: Database, revision: str) -> SchemaAheadError:
    """Refusal to write to a database a newer modelkeep has migrated."""
    return SchemaAheadError(
        f"the keep's database {db.location} is at schema {revision}, newer than this modelkeep "
        f"knows (up to {head_revision()}): a newer modelkeep wrote it; reads work, writes are "
        "refused", revision=revision, head=head_revision())


def behind_error(db: Database, revision: str) -> SchemaBehindError:
    """What to run when the database's schema is older than this modelkeep's."""
    how = ("run 'modelkeep migrate' (or any command that writes: it backs up and migrates a "
           "SQLite keep first)" if db.dialect == "sqlite" else
           "run 'modelkeep migrate' once, from one client (it migrates the shared database "
           "for everyone; older clients then need upgrading)")
    return SchemaBehindError(
        f"the keep's database {db.location} is at schema {revision}, older than this modelkeep's "
        f"({head_revision()})", hint=how, revision=revision, head=head_revision())


class SchemaGuard:
    """Installed on a Database whose schema is not this modelkeep's: migrates (SQLite) or
    refuses (PostgreSQL behind, any database ahead) at the first write, and explains a read
    that fails on a table or column the schema lacks."""

    def __init__(self, db: Database, revision: str, lock_path: Path | None,
                 on_migrate: Callable[[Migration], None] | None = None) -> None:
        self.db = db
        self.revision = revision
        self.status = schema_status(revision)
        self.lock_path = lock_path
        self.on_migrate = on_migrate

    def before_write(self) -> None:
        """Called by ``Database.write()`` before its first transaction begins."""
        if self.status == "ahead":
            raise ahead_error(self.db, self.revision)
        if self.db.dialect != "sqlite":
            raise behind_error(self.db, self.revision)
        if not self.db.writable:
            return  # the write itself reports the read-only keep
        done = migrate(self.db, self.lock_path)
        self.db.schema_guard = None
        if done.migrated and self.on_migrate is not None:
            self.on_migrate(done)

    def explain(self, exc: BaseException) -> ModelkeepError | None:
        """The schema error behind a failed statement, when it is a missing table or column."""
        text = str(exc)
        missing = ("no such table" in text or "no such column" in text
                   or type(exc).__name__ in ("UndefinedTable", "UndefinedColumn"))
        if not missing:
            return None
        if self.status == "ahead":
            return ahead_error(self.db, self.revision)
        return behind_error(self.db, self.revision)


def check_schema(db: Database, lock_path: Path | None = None,
                 on_migrate: Callable[[Migration], None] | None = None) -> SchemaGuard | None:
    """Read (never write) the schema revision of a keep being opened: None when it is this
    modelkeep's, else the guard to install. No schema at all: ``DatabaseMissingError``."""
    revision = current_revision(db)
    if revision is None:
        raise missing_schema(db)
    if revision == head_revision():
        return None
    return SchemaGuard(db, revision, lock_path, on_migrate)
