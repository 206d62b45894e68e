"""What this gateway's requests did, per version: counted on the request path (a lock and a
few additions), handed to the keep about once a second (``take``) to judge canary gates."""

from __future__ import annotations

import threading
from collections.abc import Callable

from modelkeep.registry.serving import BUCKETS, VersionStats, bucket_of


class _Counts:
    __slots__ = ("requests", "errors", "timeouts", "latency")

    def __init__(self) -> None:
        self.requests = self.errors = self.timeouts = 0
        self.latency = [0] * BUCKETS

    def frozen(self) -> VersionStats:
        return VersionStats(self.requests, self.errors, self.timeouts, tuple(self.latency))


class Meter:
    """Per-ref (``NAME@VERSION``) counts since the last ``take``, and since start."""

    def __init__(self) -> None:
        # also told of every answer (the /metrics counters): ref, seconds, error code, shadow
        self.listener: Callable[..., None] | None = None
        self._lock = threading.Lock()
        self._pending: dict[str, _Counts] = {}
        self._total: dict[str, _Counts] = {}

    def record(self, ref: str, seconds: float, *, error: bool = False, timeout: bool = False,
               code: str = "", shadow: bool = False) -> None:
        """One answer of ``ref`` that took ``seconds`` (failed: ``error``, with its error
        ``code``; timed out: both; ``shadow``: a copy nobody waited for)."""
        bucket = bucket_of(seconds * 1000)
        with self._lock:
            for table in (self._pending, self._total):
                counts = table.get(ref) or table.setdefault(ref, _Counts())
                counts.requests += 1
                counts.errors += error or timeout
                counts.timeouts += timeout
                counts.latency[bucket] += 1
        if self.listener is not None:
            self.listener(ref, seconds, code=code or ("failed" if error or timeout else ""),
                          shadow=shadow)

    def take(self) -> dict[str, VersionStats]:
        """The counts since the last call, by ref; the counter starts again from zero."""
        with self._lock:
            pending, self._pending = self._pending, {}
        return {ref: counts.frozen() for ref, counts in pending.items()}

    def totals(self) -> dict[str, VersionStats]:
        """The counts since this gateway started, by ref."""
        with self._lock:
            return {ref: counts.frozen() for ref, counts in self._total.items()}
