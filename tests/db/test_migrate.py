"""Alembic owns the schema: new keeps are made by it, older keeps are migrated, not broken."""

from __future__ import annotations

import sqlite3

from alembic.script import ScriptDirectory
from support import pass_validation

from modelkeep.db.database import Database
from modelkeep.db.migrate import MIGRATIONS_DIR, current_revision, head_revision, migrate, upgrade


def test_head_revision_matches_alembic():
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(cfg).get_current_head() == head_revision()


def test_new_database_is_brought_to_head_only_when_creating(tmp_path):
    import pytest

    from modelkeep.errors import DatabaseMissingError

    with pytest.raises(DatabaseMissingError, match="does not exist"):
        Database(f"sqlite:///{tmp_path / 'x.db'}").scalar("SELECT 1")
    assert not (tmp_path / "x.db").exists()
    db = Database(f"sqlite:///{tmp_path / 'x.db'}", create=True)
    assert current_revision(db) is None
    with pytest.raises(DatabaseMissingError, match="has no modelkeep schema"):
        migrate(db)
    assert current_revision(db) is None
    assert migrate(db, create=True).migrated is True
    assert current_revision(db) == head_revision()
    assert migrate(db).migrated is False
    assert db.scalar("PRAGMA journal_mode") == "wal"


def test_keep_from_first_schema_is_migrated_with_data_kept(tmp_path, make_model):
    """A keep written at revision 0001 opens with a newer modelkeep, unchanged (opening reads
    only); its first write migrates it, backing it up first, and it keeps its versions."""
    from alembic import command
    from alembic.config import Config

    from modelkeep.keep import Keep

    keep = Keep.init(tmp_path / "k")
    keep.register("m", make_model(tmp_path / "m"))
    keep.close()
    db_path = tmp_path / "k" / ".modelkeep" / "modelkeep.db"
    if head_revision() != "0001":
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.set_main_option("sqlalchemy.url", f"sqlite:///{db_path}")
        command.downgrade(cfg, "0001")
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0001"
    reopened = Keep.open(tmp_path / "k")
    assert [v.version for v in reopened.versions("m")] == ["1.0.0"]
    assert current_revision(reopened.db) == "0001"
    reopened.set_alias("m", "production", "1.0.0")
    assert current_revision(reopened.db) == head_revision()
    assert [v.version for v in reopened.versions("m")] == ["1.0.0"]
    backup = db_path.with_name("modelkeep.db.bak-0001")
    with sqlite3.connect(backup) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0001"
        assert conn.execute("SELECT COUNT(*) FROM versions").fetchone()[0] == 1


def test_upgrade_on_postgresql(pg_url):
    db = Database(pg_url)
    upgrade(pg_url)
    assert current_revision(db) == head_revision()
    assert db.scalar("SELECT COUNT(*) FROM models") == 0


def test_versions_records_and_alias_moves_are_append_only(any_keep, make_model, tmp_path):
    """The database refuses to rewrite history, whatever code (or person) tries."""
    import pytest

    info = any_keep.register("m", make_model(tmp_path / "m"))
    pass_validation(any_keep, info.ref)  # production is protected
    any_keep.set_alias("m", "production", info.version)
    any_keep.add_note(info.ref, "kept forever")
    for sql in ("UPDATE versions SET tree_id = 'x'", "DELETE FROM versions",
                "UPDATE alias_moves SET version_id = NULL", "DELETE FROM alias_moves",
                "UPDATE version_records SET key = 'x'", "DELETE FROM version_records"):
        with pytest.raises(Exception, match="append-only"), any_keep.db.write():
            any_keep.db.execute(sql)
    assert any_keep.show("m@production")["records"][-1]["value"] == "kept forever"
