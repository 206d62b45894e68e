"""Opening reads only; an old SQLite keep migrates at its first write (backed up first), a
shared database only through ``modelkeep migrate``; a newer schema refuses writes."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config

from modelkeep.db import migrate as schema
from modelkeep.db.database import Database
from modelkeep.db.migrate import MIGRATIONS_DIR, current_revision, head_revision
from modelkeep.errors import SchemaAheadError, SchemaBehindError, StorageError
from modelkeep.keep import Keep

OLD = "0002"  # the revision before head that tests take a keep back to


def _alembic(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", schema._alembic_url(url))
    return cfg


def _revision(url: str) -> str | None:
    db = Database(url)
    try:
        return current_revision(db)
    finally:
        db.close()


def _old_keep(root: Path, make_model, revision: str = OLD, database_url: str | None = None) -> Path:
    """A keep with one version (and an alias), its schema taken back to ``revision`` by Alembic
    as an older modelkeep would have left it; returns the keep folder."""
    keep = Keep.init(root, database_url=database_url)
    keep.register("m", make_model(root / "model"))
    keep.set_alias("m", "production", "1.0.0")
    url = keep.settings.database_url
    keep.close()
    command.downgrade(_alembic(url), revision)
    assert _revision(url) == revision
    return root


def _db_file(root: Path) -> Path:
    return root / ".modelkeep" / "modelkeep.db"


def _fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def _mk(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, in its own process."""
    return subprocess.run([sys.executable, "-m", "modelkeep", "--keep", str(root), *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("revision", ["0001", OLD])
def test_read_commands_on_an_old_sqlite_keep_write_nothing(tmp_path, make_model, revision):
    root = _old_keep(tmp_path / "k", make_model, revision)
    db = _db_file(root)
    before = _fingerprint(db)
    listed = _mk(root, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [m["name"] for m in json.loads(listed.stdout)] == ["m"]
    shown = _mk(root, "show", "m@production", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["version"] == "1.0.0"
    runs = _mk(root, "runs", "list")
    if revision == "0001":  # the runs table came with 0002: said clearly, nothing written
        assert runs.returncode == 4 and runs.stderr.startswith("error: ")
        assert "schema 0001, older than" in runs.stderr and "modelkeep migrate" in runs.stderr
    else:
        assert runs.returncode == 0, runs.stderr
    assert _fingerprint(db) == before
    assert _revision(f"sqlite:///{db}") == revision
    assert not list(db.parent.glob("modelkeep.db.bak-*"))
    assert "migrated" not in listed.stderr + shown.stderr


def test_first_write_backs_up_then_migrates_and_says_so(tmp_path, make_model):
    root = _old_keep(tmp_path / "k", make_model)
    db = _db_file(root)
    old_bytes = db.read_bytes()
    proc = _mk(root, "note", "m@1.0.0", "after the upgrade")
    assert proc.returncode == 0, proc.stderr
    backup = db.with_name(f"modelkeep.db.bak-{OLD}")
    assert proc.stderr.splitlines() == [
        f"modelkeep: migrated the keep's database {db} from schema {OLD} to {head_revision()}; "
        f"backup: {backup}"]
    assert _revision(f"sqlite:///{db}") == head_revision()
    with closing(sqlite3.connect(backup)) as conn:  # a whole database as it was, in one file
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == OLD
        assert conn.execute("SELECT COUNT(*) FROM version_records").fetchone()[0] == 0
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert not Path(f"{backup}-wal").exists() and old_bytes != db.read_bytes()
    assert backup.read_bytes()[18:20] == b"\x02\x02"  # WAL, as the keep: restoring changes no mode
    again = _mk(root, "note", "m@1.0.0", "second")
    assert again.returncode == 0 and again.stderr == ""
    assert [p.name for p in db.parent.glob("modelkeep.db.bak-*")] == [backup.name]


def test_backup_holds_what_is_still_in_the_write_ahead_log(tmp_path, make_model):
    """A reader holds the WAL open, so the last write is only in modelkeep.db-wal when the
    migration starts: the backup (SQLite's backup API, not a file copy) still has it."""
    root = _old_keep(tmp_path / "k", make_model)
    db = _db_file(root)
    holder = sqlite3.connect(db)
    holder.execute("PRAGMA wal_autocheckpoint=0")
    holder.execute("BEGIN")
    holder.execute("SELECT COUNT(*) FROM models").fetchone()  # a read snapshot blocks checkpoints
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("INSERT INTO models (name, created_at, author) VALUES ('in-wal', 'x', 'a')")
    writer.close()
    assert Path(f"{db}-wal").stat().st_size > 0
    holder.rollback()
    keep = Keep.open(root)
    done = keep.migrate()
    keep.close()
    holder.close()
    with closing(sqlite3.connect(done.backup)) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM models")}
    assert names == {"m", "in-wal"}


def test_two_processes_writing_to_an_old_keep_migrate_it_once(tmp_path, make_model):
    root = _old_keep(tmp_path / "k", make_model)
    procs = [subprocess.Popen([sys.executable, "-m", "modelkeep", "--keep", str(root), "note",
                               "m@1.0.0", f"writer {i}"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(3)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], results
    said = [err for _, err in results if "migrated" in err]
    assert len(said) == 1
    db = _db_file(root)
    assert [p.name for p in db.parent.glob("modelkeep.db.bak-*")] == [f"modelkeep.db.bak-{OLD}"]
    keep = Keep.open(root)
    assert sorted(r["value"] for r in keep.show("m@1.0.0")["records"]) == [
        "writer 0", "writer 1", "writer 2"]
    keep.close()


def test_migrate_command_on_sqlite_and_when_current(tmp_path, make_model):
    root = _old_keep(tmp_path / "k", make_model)
    proc = _mk(root, "migrate", "--json")
    assert proc.returncode == 0, proc.stderr
    done = json.loads(proc.stdout)
    assert (done["from_revision"], done["to_revision"], done["migrated"]) == (OLD, head_revision(), True)
    assert done["backup"].endswith(f"modelkeep.db.bak-{OLD}") and Path(done["backup"]).is_file()
    again = _mk(root, "migrate")
    assert again.returncode == 0 and f"is at schema {head_revision()}: nothing to do" in again.stdout


def test_an_interrupted_migration_leaves_the_backup_to_restore(tmp_path, make_model, monkeypatch):
    """The recovery docs/configuration.md describes: copy the backup back, migrate again."""
    root = _old_keep(tmp_path / "k", make_model)
    db = _db_file(root)

    def crash(url: str) -> None:
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))  # a half-made migration
        conn.execute("CREATE TABLE half_made (x)")
        conn.commit()
        conn.close()
        raise OSError("power cut")

    monkeypatch.setattr(schema, "upgrade", crash)
    keep = Keep.open(root)
    backup = db.with_name(f"modelkeep.db.bak-{OLD}")
    with pytest.raises(StorageError, match="power cut") as caught:
        keep.add_note("m@1.0.0", "never written")
    assert f"from schema {OLD} to {head_revision()} failed" in caught.value.message
    assert caught.value.hint.startswith(f"restore {backup}")
    keep.close()
    monkeypatch.undo()
    for leftover in (Path(f"{db}-wal"), Path(f"{db}-shm")):
        leftover.unlink(missing_ok=True)
    db.write_bytes(backup.read_bytes())
    assert _mk(root, "migrate").returncode == 0
    keep = Keep.open(root)
    assert current_revision(keep.db) == head_revision()
    assert keep.db.scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'half_made'") == 0
    assert keep.aliases("m") == {"production": "1.0.0"}
    keep.close()


def test_a_backup_that_cannot_be_written_stops_the_migration(tmp_path, make_model):
    root = _old_keep(tmp_path / "k", make_model)
    db = _db_file(root)
    before = _fingerprint(db)
    # the backup's temporary name is taken by a folder: SQLite cannot create the copy
    (db.parent / f".modelkeep.db.bak-{OLD}.{os.getpid()}.tmp").mkdir()
    keep = Keep.open(root)
    with pytest.raises(StorageError, match="cannot back up the keep's database") as caught:
        keep.set_alias("m", "staging", "1.0.0")
    assert "the database was not changed" in caught.value.hint
    keep.close()
    assert _fingerprint(db) == before and _revision(f"sqlite:///{db}") == OLD
    assert not list(db.parent.glob("modelkeep.db.bak-*"))


def _ahead(url: str) -> None:
    db = Database(url)
    db.execute("UPDATE alembic_version SET version_num = '9999'")
    db.close()


def test_a_database_from_a_newer_modelkeep_is_read_but_never_written(tmp_path, make_model):
    root = tmp_path / "k"
    made = Keep.init(root)
    made.register("m", make_model(tmp_path / "model"))
    made.close()
    db = _db_file(root)
    _ahead(f"sqlite:///{db}")  # the last connection closed: its log is checkpointed
    before = _fingerprint(db)
    listed = _mk(root, "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout)[0]["name"] == "m"
    for args in (("note", "m@1.0.0", "x"), ("migrate",)):
        proc = _mk(root, *args)
        assert proc.returncode == 4, proc.stderr
        assert proc.stderr.startswith("error: ") and "schema 9999, newer than" in proc.stderr
        assert "hint: upgrade modelkeep" in proc.stderr
    assert _fingerprint(db) == before
    keep = Keep.open(root)
    with pytest.raises(SchemaAheadError):
        keep.add_note("m@1.0.0", "x")
    keep.close()


def test_postgresql_behind_migrates_only_through_modelkeep_migrate(tmp_path, make_model, pg_url):
    root = _old_keep(tmp_path / "k", make_model, database_url=pg_url)
    listed = _mk(root, "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout)[0]["name"] == "m"
    refused = _mk(root, "note", "m@1.0.0", "x")
    assert refused.returncode == 4, refused.stderr
    assert f"schema {OLD}, older than this modelkeep's" in refused.stderr
    assert "run 'modelkeep migrate' once" in refused.stderr
    assert _revision(pg_url) == OLD
    keep = Keep.open(root)
    with pytest.raises(SchemaBehindError):
        keep.set_alias("m", "staging", "1.0.0")
    keep.close()
    done = _mk(root, "migrate", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) | {"database": None} == {
        "database": None, "from_revision": OLD, "to_revision": head_revision(), "backup": None,
        "migrated": True}
    assert _revision(pg_url) == head_revision()
    assert _mk(root, "note", "m@1.0.0", "x").returncode == 0


def test_postgresql_read_needing_a_newer_table_says_schema_behind(tmp_path, make_model, pg_url):
    root = _old_keep(tmp_path / "k", make_model, revision="0001", database_url=pg_url)
    proc = _mk(root, "runs", "list", "--json")
    assert proc.returncode == 4, proc.stderr
    assert json.loads(proc.stderr)["error"]["code"] == "schema_behind"
    assert _mk(root, "show", "m@1.0.0").returncode == 0  # what the old schema holds is read


def test_postgresql_ahead_refuses_writes(tmp_path, make_model, pg_url):
    root = tmp_path / "k"
    made = Keep.init(root, database_url=pg_url)
    made.register("m", make_model(tmp_path / "model"))
    made.close()
    _ahead(pg_url)
    assert _mk(root, "list").returncode == 0
    proc = _mk(root, "alias", "set", "m", "production", "1.0.0")
    assert proc.returncode == 4 and "newer than this modelkeep knows" in proc.stderr
    db = Database(pg_url)
    assert db.scalar("SELECT COUNT(*) FROM alias_moves") == 0
    db.close()
