"""A damaged, read-only, full or locked SQLite file: one line naming the file, never a traceback.

Read commands (list, show, fsck, diff, export, checkout elsewhere) work on a read-only keep;
commands that write say that the database is read-only. The read-only file and folder are real
read-only mounts (root ignores permission bits), the full disk a real tmpfs filled to the last
byte, the lock a real second process.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import cli_run, fill_disk, one_line_error, read_only, small_disk

from modelkeep.db import database
from modelkeep.errors import DiskFullError
from modelkeep.keep import Keep

DB = Path(".modelkeep") / "modelkeep.db"
READS = (["list"], ["list", "m"], ["show", "m@1.0.0"], ["fsck"], ["diff", "m@1.0.0", "m@1.0.1"],
         ["export", "m@1.0.1", "--format", "json"])
WRITES = (["note", "m@1.0.0", "hello"],
          ["alias", "set", "m", "production", "1.0.0", "--force", "--reason", "test"],
          ["metric", "m@1.0.0", "acc=0.5"])


def settle() -> None:
    """Close the connections the in-process commands left open (as a process exit would), so
    the write-ahead log is checkpointed and removed before the file is damaged."""
    gc.collect()


@pytest.fixture
def two_versions(project: Path) -> Path:
    cli_run("register", "m", "model", "--version", "1.0.0")
    (project / "model" / "model.bin").write_bytes(b"weights-v2")
    cli_run("register", "m", "model", "--version", "1.0.1")
    settle()
    assert not list((project / ".modelkeep").glob("modelkeep.db-*"))
    return project


def _truncate_half(db: Path) -> None:
    os.truncate(db, db.stat().st_size // 2)


def _garbage_after_header(db: Path) -> None:
    size = db.stat().st_size
    with open(db, "r+b") as f:
        f.seek(100)  # the 100-byte header stays: SQLite opens it, then finds the pages bad
        f.write(os.urandom(size - 100))


def _flip_pages_after_the_schema(db: Path) -> None:
    data = db.read_bytes()
    # page 1 (header and schema) intact; every bit of every other page flipped
    db.write_bytes(data[:4096] + bytes(b ^ 0xFF for b in data[4096:]))


def _not_a_database(db: Path) -> None:
    db.write_text("name,version\nm,1.0.0\n")


def _header_only(db: Path) -> None:
    os.truncate(db, 100)


DAMAGE = {"truncated": _truncate_half, "garbage": _garbage_after_header,
          "not_a_database": _not_a_database, "header_only": _header_only,
          "flipped_pages": _flip_pages_after_the_schema}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_database_is_one_line_naming_the_file(two_versions: Path, damage: str) -> None:
    db = two_versions / DB
    DAMAGE[damage](db)
    for args in (*READS, *WRITES, ["register", "m", "model"], ["gc", "--grace", "0"]):
        result = cli_run(*args, code=6)
        line = one_line_error(result, str(db))
        assert "damaged" in line, line
        assert "backup" in result.stderr


def test_a_read_only_database_file_serves_reads_and_refuses_writes(two_versions: Path) -> None:
    db = two_versions / DB
    with read_only(db):
        assert "m" in cli_run("list").stdout
        for args in READS:
            cli_run(*args)
        for args in WRITES:
            one_line_error(cli_run(*args, code=6), str(db), "read-only")
    settle()
    cli_run("note", "m@1.0.0", "writable again")  # nothing was half-written
    assert "writable again" in cli_run("show", "m@1.0.0").stdout


def test_a_read_only_keep_folder_serves_reads_and_refuses_writes(
        two_versions: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    out = tmp_path_factory.mktemp("checkout") / "out"  # outside the read-only keep
    with read_only(two_versions):
        assert "1.0.1" in cli_run("list", "m").stdout
        for args in READS:
            cli_run(*args)
        cli_run("checkout", "m@1.0.1", str(out))  # the files go elsewhere: a read of the keep
        assert (out / "model.bin").read_bytes() == b"weights-v2"
        for args in WRITES:
            one_line_error(cli_run(*args, code=6), "read-only")
        one_line_error(cli_run("register", "m", "model", code=6))
        one_line_error(cli_run("gc", "--grace", "0", code=6))
    settle()
    assert not list((two_versions / ".modelkeep").glob("modelkeep.db-*"))
    cli_run("note", "m@1.0.0", "writable again")


def test_a_full_disk_is_one_line_and_nothing_is_half_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_model) -> None:
    with small_disk(tmp_path / "disk", "3m") as disk:
        monkeypatch.chdir(disk)
        cli_run("init")
        make_model(disk / "model")
        cli_run("register", "m", "model", "--version", "1.0.0")
        settle()
        db = disk / DB
        open_keep = Keep.open(disk)  # its log and index exist: a write must grow the log
        assert [m.name for m in open_keep.models()] == ["m"]
        filler = fill_disk(disk)
        with pytest.raises(DiskFullError, match="no space left for the keep's database"):
            open_keep.add_note("m@1.0.0", "x" * 100_000)
        assert [m.name for m in open_keep.models()] == ["m"]  # still usable for reading
        open_keep.close()
        for args in WRITES:  # new processes: not even the index can be created
            line = one_line_error(cli_run(*args, code=6), str(db))
            assert "no space left" in line, line
        filler.unlink()
        settle()
        cli_run("note", "m@1.0.0", "after the disk was freed")
        shown = cli_run("show", "m@1.0.0").stdout
        assert "after the disk was freed" in shown and "hello" not in shown and "xxx" not in shown
        assert "production" not in cli_run("alias", "list", "m").stdout
        cli_run("fsck")
        settle()


LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
conn.execute("INSERT INTO models (name, created_at, author) VALUES ('held', 'x', 'x')")
print("locked", flush=True)
sys.stdin.read()  # hold the write lock until the test closes our stdin
conn.execute("ROLLBACK")
"""


def test_a_database_locked_past_the_busy_timeout_is_one_line_error(
        two_versions: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "BUSY_TIMEOUT", 0.5)
    db = two_versions / DB
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
        assert "1.0.1" in cli_run("list", "m").stdout  # readers are not blocked (WAL)
        line = one_line_error(cli_run("note", "m@1.0.0", "hello", code=6), str(db))
        assert "locked" in line and "0.5 s" in line, line
    finally:
        locker.communicate("", timeout=30)
    cli_run("note", "m@1.0.0", "hello")
