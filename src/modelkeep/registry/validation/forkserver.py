"""The fork server of ``validate``: one process imports the versions' frameworks once, then forks
one child per version.

Importing scikit-learn and skops costs ~2 s of CPU; a validation that runs the candidate and
production in two fresh processes paid it twice. Run as ``python -m
modelkeep.registry.validation.forkserver JOB_DIR...`` (a ``job.json`` in each folder, written by
``measure.py``), this process caps its own memory, resolves each version, imports the
frameworks their loaders need (``FRAMEWORKS``: never a model's own code), then forks a child
per version. Each child is a process of its own, as before: its own process group (a timeout
kills whatever the model started), its own log, temporary folder, memory limit and result file,
so a raise, hang, leak or crash in one version touches neither the other nor ``validate``.

The server waits for its children and writes each one's end to ``status.json`` in its folder:
``{"code": N}`` (N < 0: killed by signal -N) or ``{"timeout": true}`` when the child outlived
``measure.timeout_s``, counted from the server's start (the framework's import included, as
when each child imported it). A child's ``load_time_s`` includes the import of its loader's
frameworks, timed here, and its ``peak_memory_mb`` the server's peak at the fork, so budgets
mean what they meant when each version ran in a fresh process.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from modelkeep.registry.validation.runner import (
    limit_memory,
    open_version,
    peak_memory_mb,
    run_job,
    write_result,
)

# loader kind -> what its loader imports (imported once here, before the children are forked)
FRAMEWORKS: dict[str, tuple[str, ...]] = {
    "onnx": ("numpy", "onnxruntime"),
    "skops": ("numpy", "skops.io"),
    "safetensors": ("numpy", "safetensors.numpy"),
}
POLL_S = 0.005  # how often a waiting server looks at its children


def preload(kinds: set[str]) -> dict[str, float]:
    """Import the frameworks of ``kinds``: kind -> seconds its modules took (a missing one is
    skipped: the child then reports it as its loader would)."""
    took: dict[str, float] = {}
    for kind in sorted(kinds):
        start = time.perf_counter()
        for module in FRAMEWORKS.get(kind, ()):
            with contextlib.suppress(Exception):
                importlib.import_module(module)
        took[kind] = time.perf_counter() - start
    return took


def _kind(opened: Any) -> str | None:
    if isinstance(opened, BaseException):
        return None
    loader = ((opened[2] or {}).get("technical") or {}).get("loader") or {}
    kind = loader.get("kind") if isinstance(loader, dict) else None
    return kind if isinstance(kind, str) else None


def _child(folder: Path, job: dict[str, Any], opened: Any, import_s: float,
           server_peak_mb: float) -> None:
    """In the forked child: become a process group, point stdio at the log, run, write."""
    try:
        os.setpgid(0, 0)
        log = os.open(folder / "log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.environ["TMPDIR"] = str(folder)  # goes with the folder, even when killed
        tempfile.tempdir = str(folder)
        at_fork = peak_memory_mb()
        result = run_job(job, opened=opened)
        if isinstance(result.get("load_time_s"), float):
            result["load_time_s"] += import_s
        # a forked child counts only the pages it touches: add the server's peak (interpreter,
        # modelkeep, framework), as a process of its own would hold them (generously: a
        # framework page the child touched counts twice)
        result["peak_memory_mb"] = server_peak_mb + max(0.0, result["peak_memory_mb"] - at_fork)
        write_result(folder / "result.json", result)
        code = 0
    except SystemExit as exc:  # the model called sys.exit(): its status, as a process's would be
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 (never return into the server's code)
        traceback.print_exc()
        code = 1
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def serve(folders: list[Path]) -> None:
    """Resolve, preload, fork a child per folder and record how each ended."""
    start = time.monotonic()
    jobs = [json.loads((f / "job.json").read_text(encoding="utf-8")) for f in folders]
    limit_memory(int(jobs[0]["memory_limit_mb"]))
    timeout = float(jobs[0]["timeout_s"])
    opened: list[Any] = []
    for job in jobs:
        try:
            opened.append(open_version(job))
        except Exception as exc:  # noqa: BLE001 (the child reports it as its result)
            opened.append(exc)
    took = preload({k for k in map(_kind, opened) if k})
    children: dict[int, Path] = {}
    server_peak_mb = peak_memory_mb()
    for folder, job, found in zip(folders, jobs, opened, strict=True):
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(folder, job, found, took.get(_kind(found) or "", 0.0), server_peak_mb)
        with contextlib.suppress(OSError):  # here too: a timeout may come before the child ran
            os.setpgid(pid, pid)
        (folder / "pid").write_text(str(pid), encoding="utf-8")
        children[pid] = folder
    _wait(children, start + timeout)


def _wait(children: dict[int, Path], deadline: float) -> None:
    while children:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            if time.monotonic() < deadline:
                time.sleep(POLL_S)
                continue
            for late in list(children):  # the model and whatever it started
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(late, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(late, signal.SIGKILL)
                os.waitpid(late, 0)
                _ended(children.pop(late), {"timeout": True})
            return
        if pid in children:
            _ended(children.pop(pid), {"code": os.waitstatus_to_exitcode(status)})


def _ended(folder: Path, how: dict[str, Any]) -> None:
    (folder / "status.json").write_text(json.dumps(how), encoding="utf-8")


if __name__ == "__main__":
    serve([Path(arg) for arg in sys.argv[1:]])
