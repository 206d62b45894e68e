"""A deleted, emptied or replaced database is never silently recreated, and gc then deletes nothing.

Only ``init`` creates a database. Opening a keep whose database file is gone, empty (0 bytes or
no schema) or not a readable file is a one-line error naming the file; a database that has the
schema but records nothing, beside a store full of objects, makes fsck fail and gc refuse
unless ``--force``.
"""

from __future__ import annotations

import gc
import os
import shutil
from pathlib import Path

import psycopg
import pytest
from conftest import PG_ADMIN_URL
from support import cli_run, one_line_error

from modelkeep.errors import DatabaseEmptyError, DatabaseMissingError
from modelkeep.keep import Keep

DB = Path(".modelkeep") / "modelkeep.db"


def objects_of(project: Path) -> list[str]:
    return sorted(p.name for p in (project / ".modelkeep" / "objects").rglob("*")
                  if p.is_file() and p.name != "lock")


@pytest.fixture
def registered(project: Path) -> Path:
    cli_run("register", "m", "model", "--version", "1.0.0")
    cli_run("register", "m", "model", "--version", "1.0.1")
    assert objects_of(project)
    gc.collect()  # close the connections the in-process commands left open, as exiting would
    assert not list(project.joinpath(".modelkeep").glob("modelkeep.db-*"))
    return project


@pytest.mark.parametrize("damage", ["deleted", "zero_bytes", "directory"])
def test_a_lost_database_is_an_error_naming_the_file_and_is_not_recreated(
        registered: Path, damage: str) -> None:
    db = registered / DB
    before = objects_of(registered)
    db.unlink()
    if damage == "zero_bytes":
        db.write_bytes(b"")
    elif damage == "directory":
        db.mkdir()
    for args in (["list"], ["list", "m"], ["show", "m@1.0.0"], ["fsck"], ["gc", "--grace", "0"],
                 ["register", "m", "model"], ["alias", "set", "m", "production", "1.0.0"]):
        result = cli_run(*args, code=6)
        one_line_error(result, str(db))
        assert "modelkeep init" in result.stderr or "backup" in result.stderr
    if damage == "deleted":
        assert not db.exists()
    elif damage == "zero_bytes":
        assert db.stat().st_size == 0  # no schema was written into it
    assert objects_of(registered) == before  # gc deleted nothing
    with pytest.raises(DatabaseMissingError) as err:
        Keep.open(registered)
    assert err.value.code == "database_missing" and err.value.fields["path"] == str(db)


def test_init_still_creates_the_database(tmp_path: Path) -> None:
    keep = Keep.init(tmp_path / "fresh")
    assert (tmp_path / "fresh" / DB).stat().st_size > 0
    assert keep.models() == []
    keep.close()


def test_a_database_that_records_nothing_makes_gc_refuse_and_fsck_fail(registered: Path) -> None:
    """An empty database with the schema (another keep's, or a fresh one put in its place)."""
    Keep.init(registered / "other").close()
    shutil.copy(registered / "other" / DB, registered / DB)
    before = objects_of(registered)
    assert "No models yet" in cli_run("list").stdout  # true of this database
    fsck = cli_run("fsck", code=5)
    assert "records no versions, runs or datasets" in fsck.stdout + fsck.stderr
    gc = cli_run("gc", "--grace", "0", code=4)
    one_line_error(gc, "records no versions, runs or datasets", str(registered / DB))
    assert "--force" in gc.stderr
    assert objects_of(registered) == before
    assert "would delete" in cli_run("gc", "--grace", "0", "--dry-run").stdout  # dry run informs
    assert objects_of(registered) == before
    cli_run("gc", "--grace", "0", "--force")
    assert objects_of(registered) == []


def test_a_keep_with_only_add_pointers_is_not_a_lost_database(project: Path) -> None:
    cli_run("add", "model")
    before = objects_of(project)
    cli_run("fsck")
    cli_run("gc", "--grace", "0")
    assert objects_of(project) == before


def test_a_postgresql_database_recreated_empty_is_refused(tmp_path: Path, pg_url: str,
                                                         make_model) -> None:
    keep = Keep.init(tmp_path / "k", database_url=pg_url)
    keep.register("m", make_model(tmp_path / "m"))
    keep.close()
    name = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    before = sorted(os.listdir(tmp_path / "k" / ".modelkeep" / "objects"))
    with pytest.raises(DatabaseMissingError, match="has no modelkeep schema"):
        Keep.open(tmp_path / "k")
    from modelkeep.db.database import Database
    from modelkeep.db.migrate import current_revision

    assert current_revision(Database(pg_url)) is None  # opening created nothing
    from modelkeep.db.migrate import upgrade

    upgrade(pg_url)  # now it has the schema, but records nothing
    keep = Keep.open(tmp_path / "k")
    with pytest.raises(DatabaseEmptyError):
        keep.gc(grace=0)
    assert not keep.fsck().ok
    assert sorted(os.listdir(tmp_path / "k" / ".modelkeep" / "objects")) == before
    keep.close()
