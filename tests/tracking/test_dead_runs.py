"""Runs whose owner died are marked ``killed`` where runs are read or written, never by opening."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from pathlib import Path

from alembic import command
from alembic.config import Config

from modelkeep.db.migrate import MIGRATIONS_DIR
from modelkeep.keep import Keep


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _orphan(keep: Keep) -> str:
    """A running run owned by a process on this host that has exited."""
    run_id = str(uuid.uuid4())
    keep.db.execute(
        "INSERT INTO runs (uuid, name, status, author, started_at, heartbeat_at, host, pid, "
        "proc_start) VALUES (:u, 'orphan', 'running', 'a', '2026-01-01T00:00:00Z', "
        "'2026-01-01T00:05:00Z', :h, :pid, 1.0)",
        {"u": run_id, "h": socket.gethostname(), "pid": _dead_pid()})
    return run_id


def _status(root: Path, run_id: str) -> str:
    keep = Keep.open(root)
    try:  # a plain query: reading through the run API would mark it
        return keep.db.scalar("SELECT status FROM runs WHERE uuid = :u", {"u": run_id})
    finally:
        keep.close()


def test_opening_marks_nothing_listing_does(keep: Keep) -> None:
    run_id = _orphan(keep)
    root = keep.settings.root
    assert _status(root, run_id) == "running"
    reopened = Keep.open(root)
    listed = {r["id"]: r["status"] for r in reopened.runs()}
    assert listed[run_id] == "killed"
    info = reopened.run(run_id)
    assert info.ended_at == "2026-01-01T00:05:00Z"  # its last heartbeat
    reopened.close()


def test_reading_one_run_marks_it(keep: Keep) -> None:
    run_id = _orphan(keep)
    assert keep.run(run_id[:8]).status == "killed"
    assert keep.killed_runs == []  # already marked: nothing more to do


def test_starting_a_run_marks_the_dead_ones(keep: Keep) -> None:
    run_id = _orphan(keep)
    with keep.start_run("m", capture=False) as live:
        assert _status(keep.settings.root, run_id) == "killed"
        assert _status(keep.settings.root, live.id) == "running"


def test_a_keep_with_an_older_schema_is_not_written_by_a_listing(keep: Keep, make_model,
                                                                 tmp_path: Path) -> None:
    run_id = _orphan(keep)
    root = keep.settings.root
    db_file = keep.settings.keep_dir / "modelkeep.db"
    keep.close()
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", f"sqlite:///{db_file}")
    command.downgrade(cfg, "0002")
    before = db_file.read_bytes()
    old = Keep.open(root)
    assert {r["id"]: r["status"] for r in old.runs()}[run_id] == "running"
    assert old.killed_runs == []
    old.close()
    assert db_file.read_bytes() == before
    newer = Keep.open(root)
    newer.register("m", make_model(tmp_path / "model"))  # a write: migrates the keep
    assert run_id in newer.killed_runs
    newer.close()
