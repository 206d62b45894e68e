"""A program that embeds modelkeep keeps its own process: ``handle_signals=False`` installs no
SIGTERM handler, no exit hook and leaves no thread behind; a script's default is unchanged.

Real child processes: signal handlers, exit hooks and threads are process-wide.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from modelkeep.keep import Keep

# What the child reports: its SIGTERM handler, exit hooks and threads, before and after.
# The standard library's own one-time exit hooks (logging's at import, weakref.finalize's at
# a first TemporaryDirectory) are registered first, so the count is modelkeep's alone.
PRELUDE = """
import atexit, json, logging, os, signal, sys, tempfile, threading, time
import modelkeep
from modelkeep.keep import Keep
tempfile.TemporaryDirectory().cleanup()
STDLIB_HOOKS = atexit._ncallbacks()

def state():
    handler = signal.getsignal(signal.SIGTERM)
    return {"handler": handler.__qualname__ if callable(handler) else handler.name,
            "exit_hooks": atexit._ncallbacks() - STDLIB_HOOKS,
            "threads": sorted(t.name for t in threading.enumerate()
                              if t is not threading.main_thread())}
"""


def run_child(root: Path, body: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "MODELKEEP_RUN_ID"}
    env["MODELKEEP_KEEP"] = str(root)
    out = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(body), str(root)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_host_keeps_its_sigterm_handler_and_no_hook_or_thread_is_left(keep: Keep) -> None:
    found = run_child(keep.settings.root, """
        received = []
        def host_handler(signum, frame):
            received.append(signum)
        signal.signal(signal.SIGTERM, host_handler)
        before = state()
        opened = Keep.open(sys.argv[1])
        with opened.start_run("m", "embedded", handle_signals=False, flush_interval=0.05) as run:
            run.log_metric("loss", 0.5)
            time.sleep(0.2)  # the flusher thread writes it meanwhile
            during = state()
            os.kill(os.getpid(), signal.SIGTERM)  # the host's handler answers, not modelkeep's
            time.sleep(0.1)
            status_after_signal = run.status
        by_path = modelkeep.start_run("m", "by-path", handle_signals=False, system_metrics=0.05)
        by_path.log_metric("loss", 0.25)
        time.sleep(0.2)
        by_path.end()
        opened.close()
        print(json.dumps({"before": before, "during": during, "after": state(),
                          "received": received, "status_after_signal": status_after_signal,
                          "runs": [run.id, by_path.id]}))
    """)
    assert found["received"] == [15]
    assert found["status_after_signal"] == "running"  # the host decides, the run stays open
    assert found["during"]["handler"] == "host_handler"
    assert "modelkeep-flusher" in found["during"]["threads"]  # a run may use a thread...
    assert found["after"] == found["before"]  # ...but none is left, nor a hook or a handler
    assert found["before"] == {"handler": "host_handler", "exit_hooks": 0, "threads": []}
    embedded, by_path = (keep.run(r) for r in found["runs"])
    assert (embedded.status, by_path.status) == ("finished", "finished")
    assert keep.metric_history(embedded.id, "loss").values == [0.5]
    assert keep.metric_history(by_path.id, "loss").values == [0.25]


def test_a_script_still_gets_the_hooks_by_default(keep: Keep) -> None:
    found = run_child(keep.settings.root, """
        before = state()
        with modelkeep.start_run("m", capture=False) as run:
            run.log_metric("loss", 1.0)
        print(json.dumps({"before": before, "after": state(), "run": run.id}))
    """)
    assert found["before"] == {"handler": "SIG_DFL", "exit_hooks": 0, "threads": []}
    after = found["after"]
    assert after["handler"] == "_on_sigterm"  # flushes and ends the runs, then dies of it
    assert after["exit_hooks"] == 2  # the shared keeps' close, then the runs' close
    assert after["threads"] == ["modelkeep-flusher"]  # kept for the script's next run
    assert keep.run(found["run"]).status == "finished"


def test_keep_start_run_in_a_script_keeps_the_default_hooks(keep: Keep) -> None:
    """``Keep.start_run`` without the parameter behaves as it always did."""
    found = run_child(keep.settings.root, """
        opened = Keep.open(sys.argv[1])
        run = opened.start_run("m", capture=False)
        run.log_metric("loss", 2.0)
        print(json.dumps({"during": state(), "run": run.id}))
    """)  # no end(): the exit hook ends the run
    assert found["during"]["handler"] == "_on_sigterm"
    assert found["during"]["exit_hooks"] == 1
    assert keep.run(found["run"]).status == "finished"
    assert keep.metric_history(found["run"], "loss").values == [2.0]
