"""Run versions in child processes (``runner.py``) and collect what they measured.

A crash, a hang or a leak in a model must not take ``validate`` down, nor pass: each version
runs in its own process with a memory limit (set by the child on itself with setrlimit) and a
timeout (the parent kills the child's whole process group). Versions run side by side, one
thread waiting on each child.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelkeep.registry.validation.policy import MeasureSpec
from modelkeep.registry.validation.results import Measurement, safe_text


@dataclass(frozen=True)
class Job:
    """One version to run: measure it (load, latency, memory) and/or replay requests on it."""

    ref: str
    measure: bool = True
    replay_file: Path | None = None


def measure_versions(root: Path, database_url: str, jobs: list[Job], spec: MeasureSpec
                     ) -> dict[str, Measurement]:
    """ref -> Measurement of each job, run in parallel child processes."""
    if not jobs:
        return {}
    with tempfile.TemporaryDirectory(prefix="modelkeep-validate-") as scratch, \
            ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = [pool.submit(_run_child, root, database_url, job, spec, Path(scratch) / str(i))
                   for i, job in enumerate(jobs)]
        return {job.ref: future.result() for job, future in zip(jobs, futures, strict=True)}


def _run_child(root: Path, database_url: str, job: Job, spec: MeasureSpec, scratch: Path
               ) -> Measurement:
    scratch.mkdir()
    job_file, result_file, log_file = scratch / "job.json", scratch / "result.json", scratch / "log"
    job_file.write_text(json.dumps({
        "root": str(root), "database_url": database_url, "ref": job.ref, "measure": job.measure,
        "replay_file": str(job.replay_file) if job.replay_file else None, "runs": spec.runs,
        "warmup": spec.warmup, "memory_limit_mb": spec.memory_limit_mb}), encoding="utf-8")
    command = [sys.executable, "-m", "modelkeep.registry.validation.runner", str(job_file),
               str(result_file)]
    with open(log_file, "wb") as log:
        # a session of its own: a timeout kills whatever the model started, too
        # its temporary files go under scratch, which goes away even when the child is killed
        env = {**os.environ, "TMPDIR": str(scratch)}
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                 start_new_session=True, env=env)
        try:
            child.wait(timeout=spec.timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(child)
            return Measurement(job.ref, error=f"timed out after {spec.timeout_s:g} s "
                               "(measure.timeout_s)")
    if child.returncode != 0 or not result_file.is_file():
        return Measurement(job.ref, error=safe_text(_death(child.returncode, log_file, spec)))
    return _measurement(job.ref, json.loads(result_file.read_text(encoding="utf-8")))


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
