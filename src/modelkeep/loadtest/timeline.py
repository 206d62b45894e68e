"""What a load test measured, second by second, summed over its worker processes.

Workers send per-second latency histograms (ms rounded to ~1%), so percentiles of any second,
and of the whole test, come from the merged counts and are exact to that rounding.
"""

from __future__ import annotations

import math
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any


def percentile(histogram: Counter[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100) of a latency histogram (None: no requests)."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = max(1, math.ceil(total * q / 100 - 1e-9))  # nearest rank
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return max(histogram)


@dataclass(frozen=True)
class Second:
    """One second of a load test: ``t`` seconds from the start; latencies in ms; the
    target's CPU (percent of one core) and resident memory (MiB) when it was sampled."""

    t: int
    requests: int
    failures: int
    p50: float | None
    p90: float | None
    p99: float | None
    cpu_percent: float | None = None
    rss_mib: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LoadResult:
    """A finished load test: totals, each second, the commonest errors, and (for a drill) the
    value of the tracked response header of every answer as ``(unix time, value, ok)``."""

    url: str
    pattern: str
    rps_asked: float
    duration: float
    processes: int
    requests: int
    failures: int
    rps: float
    p50: float | None
    p99: float | None
    seconds: tuple[Second, ...]
    errors: dict[str, int]
    target: str  # what the CPU and memory columns measured ("" when nothing was)
    tester_saturated: bool = False  # a worker process ran above 90% CPU: it may be the limit
    tracked: tuple[tuple[float, str, bool], ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seconds"] = [s.to_dict() for s in self.seconds]
        data.pop("tracked")
        return data


class Timeline:
    """Sums the lines worker processes send, safely from their reader threads."""

    def __init__(self, start: float) -> None:
        self.start = start  # unix time the test began
        self._lock = threading.Lock()
        self.counts: Counter[int] = Counter()
        self.failures: Counter[int] = Counter()
        self.latency: dict[int, Counter[float]] = defaultdict(Counter)
        self.errors: Counter[str] = Counter()
        self.tracked: list[tuple[float, str, bool]] = []
        self.target: dict[int, tuple[float, float]] = {}
        self.first = float("inf")  # unix times of the first and the last answer
        self.last = 0.0

    def add(self, line: dict[str, Any]) -> None:
        """One worker line (see worker.py)."""
        with self._lock:
            sec = int(line["sec"])
            self.counts[sec] += int(line["n"])
            self.failures[sec] += int(line["fail"])
            for value, count in line["lat"]:
                self.latency[sec][float(value)] += int(count)
            self.errors.update(line.get("errors", {}))
            first, last = line["span"]
            self.first, self.last = min(self.first, first), max(self.last, last)
            self.tracked.extend((float(a), str(b), bool(c)) for a, b, c in line.get("tracked", []))

    def sample_target(self, at: float, cpu_percent: float, rss_mib: float) -> None:
        """The target's CPU and memory at unix time ``at``."""
        with self._lock:
            self.target[int(at)] = (cpu_percent, rss_mib)

    def progress(self) -> tuple[int, int, float, float | None, float | None]:
        """(requests, failures, rps over the last full second, p50, p99 over the last 5 s)."""
        with self._lock:
            if not self.counts:
                return 0, 0, 0.0, None, None
            last = max(self.counts)
            recent: Counter[float] = Counter()
            for sec in range(last - 5, last):
                recent.update(self.latency.get(sec, Counter()))
            rps = float(self.counts.get(last - 1, self.counts[last]))
            return (sum(self.counts.values()), sum(self.failures.values()), rps,
                    percentile(recent, 50), percentile(recent, 99))

    def seconds(self) -> list[Second]:
        """Every second from the first answer to the last, gaps filled with zeroes; ``t``
        counts from the first answer's second."""
        with self._lock:
            if not self.counts:
                return []
            # from the first answer (workers take a second or two to import Locust)
            first, last = min(self.counts), max(self.counts)
            out = []
            for sec in range(first, last + 1):
                hist = self.latency.get(sec, Counter())
                cpu, rss = self.target.get(sec, (None, None))
                out.append(Second(sec - first, self.counts[sec], self.failures[sec],
                                  percentile(hist, 50), percentile(hist, 90),
                                  percentile(hist, 99), cpu, rss))
            return out

    def throughput(self) -> float:
        """Answers per second between the first answer and the last."""
        with self._lock:
            total = sum(self.counts.values())
            span = self.last - self.first
            return total / span if total > 1 and span > 0 else float(total)

    def merged(self) -> Counter[float]:
        """Every latency of the test in one histogram."""
        with self._lock:
            return _merge(self.latency.values())


def _merge(histograms: Iterable[Counter[float]]) -> Counter[float]:
    total: Counter[float] = Counter()
    for h in histograms:
        total.update(h)
    return total
