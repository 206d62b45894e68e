"""Run versions in child processes and collect what they measured.

A crash, a hang or a leak in a model must not take ``validate`` down, nor pass: each version
runs in its own process with a memory limit (setrlimit) and a timeout (its whole process
group is killed). The processes are forked, side by side, by one fork server
(``forkserver.py``) that imported the versions' frameworks once: a second version costs no
second import of scikit-learn. The server is a session of its own, watched from here: should
it outlive the timeout too, it and every child it forked are killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelkeep.registry.validation.policy import MeasureSpec
from modelkeep.registry.validation.results import Measurement, safe_text

SERVER_GRACE_S = 10.0  # the server's own limit: the children's timeout and this


@dataclass(frozen=True)
class Job:
    """One version to run: measure it (load, latency, memory) and/or replay requests on it."""

    ref: str
    measure: bool = True
    replay_file: Path | None = None


def measure_versions(root: Path, database_url: str, jobs: list[Job], spec: MeasureSpec
                     ) -> dict[str, Measurement]:
    """ref -> Measurement of each job, each run in a child process of the fork server."""
    if not jobs:
        return {}
    with tempfile.TemporaryDirectory(prefix="modelkeep-validate-") as scratch:
        folders = [Path(scratch) / str(i) for i in range(len(jobs))]
        for folder, job in zip(folders, jobs, strict=True):
            folder.mkdir()
            (folder / "job.json").write_text(json.dumps({
                "root": str(root), "database_url": database_url, "ref": job.ref,
                "measure": job.measure,
                "replay_file": str(job.replay_file) if job.replay_file else None,
                "runs": spec.runs, "warmup": spec.warmup, "timeout_s": spec.timeout_s,
                "memory_limit_mb": spec.memory_limit_mb}), encoding="utf-8")
        ended = _run_server(Path(scratch), folders, spec)
        return {job.ref: _collect(job, folder, spec, ended)
                for job, folder in zip(jobs, folders, strict=True)}


def _run_server(scratch: Path, folders: list[Path], spec: MeasureSpec) -> str | None:
    """Run the fork server to its end; why it did not end well, or None."""
    command = [sys.executable, "-m", "modelkeep.registry.validation.forkserver",
               *map(str, folders)]
    log_file = scratch / "server.log"
    with open(log_file, "wb") as log:
        # a session of its own; its temporary files go under scratch, which goes away even
        # when it is killed
        env = {**os.environ, "TMPDIR": str(scratch)}
        server = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                  start_new_session=True, env=env)
        try:  # the server times its children out itself; this is for the server
            server.wait(timeout=spec.timeout_s + SERVER_GRACE_S)
        except subprocess.TimeoutExpired:
            _kill_group(server)
            for folder in folders:  # and the children it forked, each a group of its own
                _kill_child(folder)
            return None
    if server.returncode != 0:
        return _death(server.returncode, log_file, spec)
    return None


def _collect(job: Job, folder: Path, spec: MeasureSpec, server_death: str | None) -> Measurement:
    """The Measurement of one job, from the files its child and the server left."""
    status_file, result_file = folder / "status.json", folder / "result.json"
    if not status_file.is_file():
        if server_death:
            return Measurement(job.ref, error=safe_text(server_death))
        return Measurement(job.ref, error=f"timed out after {spec.timeout_s:g} s "
                           "(measure.timeout_s)")
    status = json.loads(status_file.read_text(encoding="utf-8"))
    if status.get("timeout"):
        return Measurement(job.ref, error=f"timed out after {spec.timeout_s:g} s "
                           "(measure.timeout_s)")
    code = status.get("code")
    if code != 0 or not result_file.is_file():
        return Measurement(job.ref, error=safe_text(_death(code, folder / "log", spec)))
    return _measurement(job.ref, json.loads(result_file.read_text(encoding="utf-8")))


def _kill_child(folder: Path) -> None:
    with contextlib.suppress(OSError, ValueError):
        pid = int((folder / "pid").read_text(encoding="utf-8"))
        os.killpg(pid, signal.SIGKILL)


def _kill_group(child: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)
    child.wait()


def _death(code: int | None, log_file: Path, spec: MeasureSpec) -> str:
    """Why a child ended without a result, in one line."""
    if code is not None and code < 0:
        try:
            how = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"killed by signal {-code}"
    else:
        how = f"exited with status {code}"
    last = _last_line(log_file)
    why = f": {last}" if last else ""
    if code in (-signal.SIGKILL, -signal.SIGABRT, -signal.SIGSEGV):
        why += f" (memory limit {spec.memory_limit_mb} MB: measure.memory_limit_mb)"
    return f"the child process {how}{why}"


def _last_line(log_file: Path) -> str:
    try:
        lines = log_file.read_bytes()[-4000:].decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return ""
    return " ".join(lines[-1].split())[:300] if lines else ""


def _measurement(ref: str, found: dict[str, Any]) -> Measurement:
    def number(key: str) -> float | None:
        value = found.get(key)
        return float(value) if isinstance(value, int | float) else None

    return Measurement(
        ref, error=safe_text(found.get("error")), load_time_s=number("load_time_s"),
        latency_p50_ms=number("latency_p50_ms"), latency_p95_ms=number("latency_p95_ms"),
        latency_p99_ms=number("latency_p99_ms"), peak_memory_mb=number("peak_memory_mb"),
        calls=int(found.get("calls") or 0), replay=tuple(found.get("replay") or ()))
