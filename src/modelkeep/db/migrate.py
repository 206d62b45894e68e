"""Schema management: Alembic owns the schema from the first table on.

Opening a keep compares the database's ``alembic_version`` with the newest migration file, a
cheap check that needs no Alembic import; only a keep made by an older modelkeep runs
``alembic upgrade head``, under a file lock so concurrent openers migrate once. A database
with no schema at all is brought to head only by ``init`` (``create=True``): anywhere else it
is a lost or wrong database, and opening it is an error rather than a fresh empty keep.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from modelkeep.db.database import Database
from modelkeep.db.sqlite import BACKUP_HINT
from modelkeep.errors import DatabaseMissingError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def head_revision() -> str:
    """The newest migration's revision id (files are named ``NNNN_topic.py``, revision NNNN)."""
    names = [
        n.split("_", 1)[0]
        for n in os.listdir(MIGRATIONS_DIR / "versions")
        if n.endswith(".py") and n[:4].isdigit()
    ]
    return max(names)


def current_revision(db: Database) -> str | None:
    """The revision a database is at, or None for an empty database."""
    try:
        return db.scalar("SELECT version_num FROM alembic_version")
    except Exception as exc:  # missing table: the driver's own error types differ
        if "alembic_version" in str(exc):  # autocommit: no aborted transaction
            return None
        raise


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


def ensure_schema(db: Database, lock_path: Path | None = None, *, create: bool = False) -> bool:
    """Bring ``db`` to the newest schema; returns True when a migration ran.

    A database with no modelkeep schema is refused (``DatabaseMissingError``) unless ``create``.
    """
    revision = current_revision(db)
    if revision == head_revision():
        return False
    if revision is None and not create:
        raise DatabaseMissingError(
            f"the keep's database {db.location} has no modelkeep schema (empty or not modelkeep's)",
            hint=BACKUP_HINT if db.dialect == "sqlite" else
            "check database_url in .modelkeep/config.toml (or MODELKEEP_DATABASE_URL) names "
            "the keep's database; 'modelkeep init --database-url URL' sets up a new one",
            path=db.location)
    if lock_path is None:
        upgrade(db.url)
        return True
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if current_revision(db) == head_revision():
                return False
            upgrade(db.url)
            return True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
