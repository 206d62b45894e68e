"""A database that records nothing beside a store full of objects is a lost database.

A keep whose ``modelkeep.db`` was deleted, replaced by an empty one, or whose settings point at
the wrong (empty) PostgreSQL database, looks to gc like a keep where *every* object is garbage,
and to fsck like a clean keep. Opening a keep already refuses a missing or schema-less database
(``db/migrate.py``); this guards what remains: a database with the schema and no versions,
runs or datasets while the store holds objects that no ``add`` pointer explains. gc refuses to
run there unless forced, and fsck reports it.
"""

from __future__ import annotations

from collections.abc import Collection

from modelkeep.db.database import Database
from modelkeep.errors import DatabaseEmptyError
from modelkeep.storage.objects import ObjectStore

RECORDING_TABLES = ("versions", "runs", "datasets")


def records_nothing(db: Database) -> bool:
    """Whether the database records no version, run or dataset (a new keep, or a lost one)."""
    return all(db.scalar(f"SELECT 1 FROM {table} LIMIT 1") is None for table in RECORDING_TABLES)


def unexplained_objects(db: Database, store: ObjectStore, needed: Collection[str]) -> int:
    """How many stored objects outside ``needed`` (what pins need) sit beside a database that
    records nothing; 0 when the database records anything at all."""
    if not records_nothing(db):
        return 0
    return sum(1 for oid in store.iter_ids() if oid not in needed)


def refuse_if_lost(db: Database, store: ObjectStore, needed: Collection[str]) -> None:
    """Raise ``DatabaseEmptyError`` when gc would delete objects a lost database once named."""
    count = unexplained_objects(db, store, needed)
    if count:
        raise DatabaseEmptyError(
            f"the database {db.location} records no versions, runs or datasets, but the store "
            f"holds {count} objects gc would delete; refusing, in case this is not the keep's "
            "database",
            hint="check database_url in .modelkeep/config.toml (or MODELKEEP_DATABASE_URL) or "
            "restore the database from a backup; 'modelkeep gc --force' deletes them anyway",
            objects=count)
