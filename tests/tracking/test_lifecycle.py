"""Nothing lost on exit, exception or SIGTERM; SIGKILL'd runs are marked killed; many writers.

Every test here uses real child processes: signals and process death cannot be faked.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from modelkeep.keep import Keep
from modelkeep.tracking.runs import mark_killed_runs, process_start_time

PRELUDE = """
import os, sys, time, signal
from modelkeep.keep import Keep
from modelkeep import start_run
keep = Keep.open(sys.argv[1])
"""


def spawn(keep_root: Path, body: str, *extra: str, env: dict[str, str] | None = None
          ) -> subprocess.Popen[str]:
    code = PRELUDE + textwrap.dedent(body)
    child_env = {k: v for k, v in os.environ.items() if k != "MODELKEEP_RUN_ID"}
    child_env.update(env or {}, MODELKEEP_KEEP=str(keep_root))  # start_run finds the keep
    return subprocess.Popen([sys.executable, "-c", code, str(keep_root), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=child_env)


def wait_line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line, proc.stderr.read() if proc.stderr else ""
    return line


@pytest.fixture
def root(keep: Keep) -> Path:
    return keep.settings.root


def test_normal_exit_without_end_flushes_and_finishes(root: Path, keep: Keep) -> None:
    proc = spawn(root, """
        run = start_run("m", capture=False, flush_interval=60)
        for i in range(500):
            run.log_metric("loss", i * 0.5)
        print(run.id, flush=True)
    """)
    run_id = wait_line(proc)
    assert proc.wait(timeout=30) == 0
    assert keep.run(run_id).status == "finished"
    assert len(keep.metric_history(run_id, "loss")) == 500


def test_uncaught_exception_marks_failed_and_flushes(root: Path, keep: Keep) -> None:
    proc = spawn(root, """
        run = start_run("m", capture=False, flush_interval=60)
        run.log_metric("loss", 1.0)
        print(run.id, flush=True)
        raise RuntimeError("boom")
    """)
    run_id = wait_line(proc)
    assert proc.wait(timeout=30) == 1
    assert keep.run(run_id).status == "failed"
    assert keep.metric_history(run_id, "loss").values == [1.0]


def test_sigterm_flushes_then_dies_of_the_signal(root: Path, keep: Keep) -> None:
    proc = spawn(root, """
        with start_run("m", capture=False, flush_interval=60) as run:
            for i in range(1000):
                run.log_metric("loss", float(i))
            print(run.id, flush=True)
            time.sleep(60)
    """)
    run_id = wait_line(proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == -signal.SIGTERM
    assert keep.run(run_id).status == "killed"
    assert len(keep.metric_history(run_id, "loss")) == 1000


def test_sigterm_chains_to_the_previous_python_handler(root: Path, keep: Keep) -> None:
    proc = spawn(root, """
        stop = []
        signal.signal(signal.SIGTERM, lambda s, f: stop.append(s))
        with start_run("m", capture=False, flush_interval=60) as run:
            run.log_metric("loss", 1.0)
            print(run.id, flush=True)
            while not stop:
                time.sleep(0.01)
            run.log_metric("loss", 2.0)  # the user's handler chose to finish cleanly
    """)
    run_id = wait_line(proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert keep.run(run_id).status == "finished"
    assert keep.metric_history(run_id, "loss").values == [1.0, 2.0]


def test_sigkill_keeps_flushed_points_and_is_marked_killed_on_open(root: Path) -> None:
    proc = spawn(root, """
        run = start_run("m", capture=False, flush_interval=60)
        run.log_metric("warm", 0.0)  # a first point is written at once; wait for that
        while not keep.db.scalar("SELECT COUNT(*) FROM metric_points"):
            time.sleep(0.01)
        for i in range(300):
            run.log_metric("loss", float(i))
        run.flush()
        for i in range(300, 400):
            run.log_metric("loss", float(i))  # buffered only: lost with the process
        print(run.id, flush=True)
        time.sleep(60)
    """)
    run_id = wait_line(proc)
    proc.kill()
    proc.wait(timeout=30)
    reopened = Keep.open(root)
    try:
        assert run_id in reopened.killed_runs
        info = reopened.run(run_id)
        assert info.status == "killed" and info.ended_at == info.heartbeat_at
        assert reopened.metric_history(run_id, "loss").values == [float(i) for i in range(300)]
    finally:
        reopened.close()


def test_the_first_point_is_written_at_once_and_survives_sigkill(root: Path) -> None:
    """Issue 7, item 12: a logger SIGKILLed seconds after its first point lost every point, the
    first flush coming only an interval after the run began. The first point is written at once
    (here long before the 30 s interval); later points wait for the interval as before."""
    proc = spawn(root, """
        run = start_run("m", capture=False, flush_interval=30)
        run.log_metric("loss", 0.5)
        print(run.id, flush=True)
        time.sleep(60)
    """)
    run_id = wait_line(proc)
    reopened = Keep.open(root)
    try:
        deadline = time.monotonic() + 20  # well before the child's first interval (30 s) ends
        while not reopened.db.scalar("SELECT COUNT(*) FROM metric_points") and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        reopened.close()
    proc.kill()
    proc.wait(timeout=30)
    reopened = Keep.open(root)
    try:
        assert reopened.run(run_id).status == "killed"
        assert reopened.metric_history(run_id, "loss").values == [0.5]
    finally:
        reopened.close()


def test_live_owner_is_not_killed_but_a_reused_pid_is(keep: Keep) -> None:
    with keep.start_run("m", capture=False) as live:
        assert mark_killed_runs(keep.db) == []
        now = process_start_time(os.getpid())
        assert now is not None
        keep.db.execute(  # same pid, another start time: the pid was reused
            "INSERT INTO runs (uuid, name, status, author, started_at, host, pid, proc_start) "
            "VALUES ('00000000-0000-4000-8000-000000000001', 'old', 'running', 'a', 'x', :h, "
            ":pid, :ps)", {"h": socket.gethostname(), "pid": os.getpid(), "ps": now - 1000})
        keep.db.execute(  # another host: never judged from here
            "INSERT INTO runs (uuid, name, status, author, started_at, host, pid, proc_start) "
            "VALUES ('00000000-0000-4000-8000-000000000002', 'far', 'running', 'a', 'x', "
            "'elsewhere', 1, 1.0)")
        assert mark_killed_runs(keep.db) == ["00000000-0000-4000-8000-000000000001"]
        assert keep.run(live.id).status == "running"
        assert keep.run("00000000-0000-4000-8000-000000000002").status == "running"


def test_several_processes_log_to_one_run(root: Path, keep: Keep) -> None:
    with keep.start_run("m", capture=False) as run:
        run.log_params(world_size=3)
        body = """
            rank = int(sys.argv[2])
            with start_run(capture=False, flush_interval=0.05) as r:
                r.log_params(world_size=3)
                for i in range(2000):
                    r.log_metric("loss", float(rank), step=rank * 2000 + i)
                    r.log_metric(f"rank{rank}", float(i))
            print("done", flush=True)
        """
        procs = [spawn(root, body, str(rank), env={"MODELKEEP_RUN_ID": run.id})
                 for rank in range(3)]
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
        assert keep.run(run.id).status == "running"  # attached writers never end the run
    history = keep.metric_history(run.id, "loss")
    assert history.steps == list(range(6000))
    assert sorted(set(history.values)) == [0.0, 1.0, 2.0]
    series = {s["name"]: s for s in keep.run_view(run.id)["metrics"]}
    assert series["loss"]["points"] == 6000 and series["loss"]["last_value"] == 2.0
    assert all(series[f"rank{r}"]["points"] == 2000 for r in range(3))
    assert keep.run(run.id).status == "finished"


def _forked_rank(keep_root: str, run_id: str, rank: int) -> None:
    from modelkeep import start_run

    with start_run(run_id=run_id, keep=keep_root, capture=False, flush_interval=0.05) as r:
        for i in range(500):
            r.log_metric("loss", float(rank), step=rank * 500 + i)


def test_forked_workers_log_without_touching_the_parents_buffer(root: Path, keep: Keep) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    with keep.start_run("m", capture=False, flush_interval=3600) as run:
        run.log_metric("parent", 1.0)  # still buffered in the parent when the workers fork
        workers = [ctx.Process(target=_forked_rank, args=(str(root), run.id, r)) for r in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=60)
            assert w.exitcode == 0
        assert keep.run(run.id).status == "running"
    assert len(keep.metric_history(run.id, "loss")) == 1000
    assert keep.metric_history(run.id, "parent").values == [1.0]  # written once, by the parent


def test_forks_while_the_flusher_is_writing_never_hang(root: Path, keep: Keep) -> None:
    """Forking while the parent's flusher is inside SQLite must not hand the child a held lock."""
    import multiprocessing
    import threading

    ctx = multiprocessing.get_context("fork")
    # the parent flushes every 20 ms, so most forks land near or inside one of its writes
    with keep.start_run("m", capture=False, flush_interval=0.02) as run:
        stop = threading.Event()

        def log_forever() -> None:
            step = 0
            while not stop.is_set():
                run.log_metric("parent", 1.0, step=step)
                step += 1
                if step % 100 == 0:
                    time.sleep(0.001)  # a training loop, not a busy wait

        logger = threading.Thread(target=log_forever)
        logger.start()
        try:
            for rank in range(12):
                child = ctx.Process(target=_forked_rank, args=(str(root), run.id, rank))
                child.start()
                child.join(timeout=30)
                if child.exitcode is None:
                    child.kill()
                assert child.exitcode == 0, f"child {rank} hung or failed"
        finally:
            stop.set()
            logger.join()
    assert len(keep.metric_history(run.id, "loss")) == 12 * 500
