"""Running a load test: worker processes send the load, this process sums what they measured.

Each worker (``worker.py``) is a separate Python process running Locust, so the load never
competes with this process (the live progress, the target's sampling) for one interpreter, and
``--processes K`` spreads it over K of them. The target is checked for a TCP answer first:
an unreachable URL is one error line before anything starts.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO
from urllib.parse import urlsplit

from modelkeep.errors import MissingDependencyError, ModelkeepError, TargetUnreachableError

from .plan import LoadPlan, check_rate, check_target
from .target import TargetSampler, check_pid, is_reachable, listener_of
from .timeline import LoadResult, Timeline, percentile

STARTUP_GRACE = 30.0  # seconds a worker may take to import Locust and start, beyond the test


@dataclass(frozen=True)
class Progress:
    """Where a running load test stands (for the live line on stderr)."""

    elapsed: float
    requests: int
    failures: int
    rps: float
    p50: float | None
    p99: float | None

    def line(self) -> str:
        """``12.0 s  3,600 requests  300 rps  p50 1.2 ms  p99 4.0 ms  0 errors``."""
        def ms(v: float | None) -> str:
            return "-" if v is None else f"{v:g} ms"

        return (f"{self.elapsed:5.1f} s  {self.requests:,} requests  {self.rps:,.0f} rps  "
                f"p50 {ms(self.p50)}  p99 {ms(self.p99)}  {self.failures:,} errors")


def require_locust() -> None:
    """Locust (the ``loadtest`` extra) is installed, else a one-line error."""
    if importlib.util.find_spec("locust") is None:
        raise MissingDependencyError("load tests need Locust, which is not installed",
                                     hint="pip install 'modelkeep[loadtest]'")


def check_reachable(url: str) -> None:
    """A TCP connection to ``url``'s host and port opens, else ``TargetUnreachableError``."""
    parts = urlsplit(check_target(url))
    port = parts.port or (443 if parts.scheme == "https" else 80)
    why = is_reachable(parts.hostname or "", port)
    if why:
        raise TargetUnreachableError(f"cannot reach {parts.scheme}://{parts.netloc}: {why}",
                                     url=url)


def _tail(stream: IO[str], lines: deque[str]) -> None:
    """Keep the last lines a worker wrote to stderr (read so a full pipe never blocks it)."""
    for line in stream:
        if line.strip():
            lines.append(line.strip())


def _read(stream: IO[str], timeline: Timeline, done: list[bool]) -> None:
    for raw in stream:
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if line.get("done"):
            done.append(bool(line.get("saturated")))
        elif "sec" in line:
            timeline.add(line)


def _start_worker(plan: LoadPlan, index: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "modelkeep.loadtest.worker", str(index)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(plan.to_dict()) + "\n")
    proc.stdin.close()
    return proc


def run_load(plan: LoadPlan, *, target_pid: int | None = None,
             on_progress: Callable[[Progress], None] | None = None,
             on_tick: Callable[[float], None] | None = None) -> LoadResult:
    """Send ``plan``'s load from ``plan.processes`` worker processes and measure it.

    ``on_progress`` is called about once a second; ``on_tick`` (drills) about every 50 ms with
    the seconds since the first answer (known a second or so after it came), from this
    thread, while the load runs."""
    check_rate(plan.rps, plan.duration, plan.processes)
    require_locust()
    check_reachable(plan.url)
    process = check_pid(target_pid) if target_pid is not None else None
    if process is None and (found := listener_of(plan.url)) is not None:
        process = check_pid(found)
    start = time.time()
    timeline = Timeline(start)
    sampler = TargetSampler(process, timeline.sample_target) if process is not None else None
    workers = [_start_worker(plan, i) for i in range(plan.processes)]
    done: list[bool] = []
    errors: list[str] = []
    stderr: list[deque[str]] = [deque(maxlen=20) for _ in workers]
    readers = [threading.Thread(target=_read, args=(w.stdout, timeline, done), daemon=True)
               for w in workers]
    readers += [threading.Thread(target=_tail, args=(w.stderr, tail), daemon=True)
                for w, tail in zip(workers, stderr, strict=True)]
    for thread in readers:
        thread.start()
    if sampler is not None:
        sampler.start()
    deadline = time.monotonic() + plan.duration + STARTUP_GRACE
    next_progress = time.monotonic() + 1.0
    try:
        while any(w.poll() is None for w in workers):
            if time.monotonic() > deadline:
                errors.append("a worker outlived the test and was stopped")
                break
            time.sleep(0.05)
            if on_tick is not None and timeline.first < float("inf"):
                on_tick(time.time() - timeline.first)
            if on_progress is not None and time.monotonic() >= next_progress:
                next_progress += 1.0
                on_progress(Progress(time.time() - start, *timeline.progress()))
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
            w.wait()
        for thread in readers:
            thread.join(timeout=5)
        if sampler is not None:
            sampler.stop()
    for w, tail in zip(workers, stderr, strict=True):
        if w.returncode != 0:
            errors.append(tail[-1] if tail else f"exit status {w.returncode}")
    if errors and not done:
        raise ModelkeepError(f"the load workers failed: {errors[0]}",
                             hint="check that Locust imports: python -c 'import locust'")
    merged = timeline.merged()
    seconds = timeline.seconds()
    requests = sum(s.requests for s in seconds)
    failures = sum(s.failures for s in seconds)
    return LoadResult(
        url=plan.url, pattern=plan.pattern, rps_asked=plan.rps, duration=plan.duration,
        processes=plan.processes, requests=requests, failures=failures, rps=timeline.throughput(),
        p50=percentile(merged, 50), p99=percentile(merged, 99), seconds=tuple(seconds),
        errors=dict(timeline.errors.most_common(20)),
        target=sampler.describe() if sampler is not None else "", tester_saturated=any(done),
        tracked=tuple(sorted(timeline.tracked)))
