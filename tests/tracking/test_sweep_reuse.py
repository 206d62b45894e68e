"""A sweep as users write it (``with modelkeep.start_run(...)`` in a loop): the keep is opened
once per process and the environment and Git state are captured once, yet every run still gets
its own complete record."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import skip_outside_ci

import modelkeep
from modelkeep.keep import Keep


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A keep in a Git work tree, the process's cwd (where a user's sweep script runs)."""
    if subprocess.run(["git", "--version"], capture_output=True).returncode != 0:
        skip_outside_ci("git is not installed")
    root = tmp_path / "project"
    root.mkdir()
    for args in (["init", "-q", "-b", "main"], ["config", "user.email", "t@example.com"],
                 ["config", "user.name", "t"]):
        subprocess.run(["git", "-C", str(root), *args], check=True)
    (root / "train.py").write_text("print(1)\n")
    (root / ".gitignore").write_text(".modelkeep/\n")
    subprocess.run(["git", "-C", str(root), "add", "."], check=True)
    subprocess.run(["git", "-C", str(root), "commit", "-q", "-m", "first"], check=True)
    Keep.init(root).close()
    monkeypatch.chdir(root)
    monkeypatch.delenv("MODELKEEP_KEEP", raising=False)
    monkeypatch.delenv("MODELKEEP_RUN_ID", raising=False)
    return root


def _sweep(n: int) -> list[modelkeep.Run]:
    done = []
    for r in range(n):
        with modelkeep.start_run("sweep", f"run-{r}") as run:
            run.log_params({"lr": r / 10, "seed": r})
            run.log_metrics({"loss": 1.0 / (r + 1), "acc": r / 3}, step=0)
        done.append(run)
    return done


def test_runs_of_a_sweep_share_one_open_keep(project: Path) -> None:
    first, second, third = _sweep(3)
    assert first.keep is second.keep is third.keep
    # the shared keep stays usable after the runs that used it ended
    assert {r["id"] for r in first.keep.runs(model="sweep")} == {first.id, second.id, third.id}


def test_every_run_still_gets_its_own_record(project: Path) -> None:
    runs = _sweep(3)
    keep = Keep.open(project)
    try:
        assert len({r.id for r in runs}) == 3
        for r, run in enumerate(runs):
            view = keep.run_view(run.id)
            assert view["name"] == f"run-{r}" and view["status"] == "finished"
            assert view["params"] == {"lr": r / 10, "seed": r}
            last = {m["name"]: m["last_value"] for m in view["metrics"]}
            assert last == {"loss": pytest.approx(1.0 / (r + 1)), "acc": pytest.approx(r / 3)}
            assert view["environment"]["python"]["version"]
            assert view["code"]["commit"] and view["command"]
    finally:
        keep.close()


def test_runs_of_one_process_share_the_captured_environment(project: Path) -> None:
    first, second = _sweep(2)
    keep = Keep.open(project)
    try:
        a, b = keep.run_view(first.id), keep.run_view(second.id)
        assert a["environment_id"] == b["environment_id"]
        assert a["code"] == b["code"]
        assert keep.store.has(a["environment_id"])
    finally:
        keep.close()


def test_git_state_is_read_once_per_process(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (first,) = _sweep(1)
    monkeypatch.setenv("PATH", "")  # no git any more: a second read would find no repository
    with modelkeep.start_run("sweep", "after") as later:
        pass
    keep = Keep.open(project)
    try:
        assert keep.run_view(later.id)["code"] == keep.run_view(first.id)["code"]
        assert keep.run_view(later.id)["code"]["commit"]
    finally:
        keep.close()


def test_a_changed_variable_gives_a_new_environment_record(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    (first,) = _sweep(1)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    (second,) = _sweep(1)
    keep = Keep.open(project)
    try:
        a, b = keep.run_view(first.id), keep.run_view(second.id)
        assert a["environment"]["env"]["CUDA_VISIBLE_DEVICES"] == "0"
        assert b["environment"]["env"]["CUDA_VISIBLE_DEVICES"] == "1"
    finally:
        keep.close()


def test_environment_object_removed_by_gc_is_written_again(project: Path) -> None:
    (first,) = _sweep(1)
    keep = Keep.open(project)
    env_id = keep.run_view(first.id)["environment_id"]
    path = keep.store.object_path(env_id)
    path.chmod(0o644)
    path.unlink()  # as gc would after the run that held it was pruned
    (second,) = _sweep(1)
    try:
        assert keep.run_view(second.id)["environment_id"] == env_id
        assert keep.store.has(env_id)
    finally:
        keep.close()


def test_changed_settings_open_the_keep_again(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELKEEP_AUTHOR", "alice")
    (first,) = _sweep(1)
    monkeypatch.setenv("MODELKEEP_AUTHOR", "bob")
    (second,) = _sweep(1)
    assert first.keep is not second.keep
    keep = Keep.open(project)
    try:
        assert keep.run(first.id).author == "alice" and keep.run(second.id).author == "bob"
    finally:
        keep.close()


def test_a_keep_made_anew_in_the_same_folder_is_not_the_old_one(project: Path) -> None:
    (first,) = _sweep(1)
    import shutil

    shutil.rmtree(project / ".modelkeep")
    Keep.init(project).close()
    (second,) = _sweep(1)
    keep = Keep.open(project)
    try:
        assert [r["id"] for r in keep.runs()] == [second.id]  # not written to the deleted file
    finally:
        keep.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_a_forked_child_opens_its_own_keep(project: Path) -> None:
    (parent_run,) = _sweep(1)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a run of its own, through its own connection
        code = 1
        try:
            with modelkeep.start_run("sweep", "child") as run:
                run.log_metric("x", 1.0)
            os.write(write, run.id.encode())
            code = 0 if run.keep is not parent_run.keep else 2
        finally:
            os._exit(code)
    os.close(write)
    child_id = os.read(read, 100).decode()
    os.close(read)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    (after,) = _sweep(1)  # the parent's shared keep still works
    keep = Keep.open(project)
    try:
        assert {r["id"] for r in keep.runs()} == {parent_run.id, child_id, after.id}
    finally:
        keep.close()


def test_a_script_sweep_ends_cleanly(project: Path) -> None:
    script = project / "sweep.py"
    script.write_text(
        "import modelkeep\n"
        "for r in range(3):\n"
        "    with modelkeep.start_run('sweep', f'run-{r}') as run:\n"
        "        run.log_metric('loss', r)\n"
    )
    subprocess.run([sys.executable, str(script)], cwd=project, check=True, timeout=120)
    keep = Keep.open(project)
    try:
        rows = keep.runs(model="sweep")
        assert len(rows) == 3 and {r["status"] for r in rows} == {"finished"}
    finally:
        keep.close()


def test_a_dropped_server_connection_is_opened_again(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sweep against PostgreSQL keeps one connection; when the server drops it (a restart,
    an idle timeout) the next run connects again instead of failing."""
    import psycopg

    root = tmp_path / "pg"
    Keep.init(root, database_url=pg_url).close()
    monkeypatch.chdir(root)
    monkeypatch.setenv("MODELKEEP_DATABASE_URL", pg_url)
    with modelkeep.start_run("sweep", "before", capture=False) as first:
        pass
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    with modelkeep.start_run("sweep", "after", capture=False) as second:
        second.log_metric("x", 1.0)
    keep = Keep.open(root)
    try:
        assert {r["id"] for r in keep.runs()} == {first.id, second.id}
    finally:
        keep.close()
