"""Serving statistics of one version: requests, errors and a latency histogram that adds up.

Each gateway process counts what its requests did; the counts of several processes and
several intervals are summed to judge a canary (``registry/gates.py``). Percentiles cannot be
summed, so latencies go into fixed, log-spaced buckets (each 15% wider than the one before,
from 0.05 ms to about a minute): bucket counts add up exactly, and a percentile read back from
them is within 15% of the true value, which is all a "p99 at most 1.5x the stable version's"
gate needs. Gateways append their counts to ``serving_stats`` (migration 0005) about once a
second; ``stats_since`` sums them.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from modelkeep.clock import now_iso
from modelkeep.db.database import Database
from modelkeep.registry.versions import model_id_of

_FIRST_MS = 0.05
_GROWTH = 1.15
BUCKETS = 100
# upper bound (ms) of each bucket; the last bucket also holds everything slower
BOUNDS_MS: tuple[float, ...] = tuple(_FIRST_MS * _GROWTH**i for i in range(BUCKETS))


def bucket_of(ms: float) -> int:
    """The histogram bucket for a latency of ``ms`` milliseconds."""
    return min(bisect.bisect_left(BOUNDS_MS, ms), BUCKETS - 1)


@dataclass(frozen=True)
class VersionStats:
    """What one version's requests did: ``errors`` counts every failed answer (the model
    raised, timed out or could not be loaded), ``timeouts`` the timed-out ones among them."""

    requests: int = 0
    errors: int = 0
    timeouts: int = 0
    latency: tuple[int, ...] = (0,) * BUCKETS  # request counts per bucket of BOUNDS_MS

    @property
    def error_rate(self) -> float:
        """Failed answers over all answers (0 when there were none)."""
        return self.errors / self.requests if self.requests else 0.0

    def percentile_ms(self, q: float) -> float:
        """The latency under which a fraction ``q`` of requests answered (NaN: no requests)."""
        total = sum(self.latency)
        if total == 0:
            return math.nan
        rank = max(1, math.ceil(q * total))
        seen = 0
        for index, count in enumerate(self.latency):
            seen += count
            if seen >= rank:
                return BOUNDS_MS[index]
        return BOUNDS_MS[-1]

    def __add__(self, other: VersionStats) -> VersionStats:
        return VersionStats(self.requests + other.requests, self.errors + other.errors,
                            self.timeouts + other.timeouts,
                            tuple(a + b for a, b in zip(self.latency, other.latency, strict=True)))

    def to_dict(self) -> dict[str, Any]:
        p50, p99 = self.percentile_ms(0.5), self.percentile_ms(0.99)
        return {"requests": self.requests, "errors": self.errors, "timeouts": self.timeouts,
                "error_rate": self.error_rate,
                "p50_ms": None if math.isnan(p50) else p50,
                "p99_ms": None if math.isnan(p99) else p99}

    def to_record(self) -> dict[str, Any]:
        """The stored form: counts, and the histogram as {bucket: count} for non-empty buckets."""
        return {"requests": self.requests, "errors": self.errors, "timeouts": self.timeouts,
                "latency": {str(i): c for i, c in enumerate(self.latency) if c}}

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> VersionStats:
        """The inverse of ``to_record`` (buckets outside the histogram are dropped)."""
        latency = [0] * BUCKETS
        for index, count in (data.get("latency") or {}).items():
            if 0 <= int(index) < BUCKETS:
                latency[int(index)] = int(count)
        return cls(int(data.get("requests", 0)), int(data.get("errors", 0)),
                   int(data.get("timeouts", 0)), tuple(latency))



def record_stats(db: Database, name: str, stats: Mapping[str, VersionStats], gateway: str) -> None:
    """Append what ``gateway``'s requests to each version of ``name`` did since its last call."""
    rows = [(version, s) for version, s in stats.items() if s.requests]
    if not rows:
        return
    with db.write():
        model_id = model_id_of(db, name)
        at = now_iso()
        db.executemany(
            "INSERT INTO serving_stats (model_id, version, gateway, at, stats_json) "
            "VALUES (:m, :v, :g, :at, :s)",
            [{"m": model_id, "v": version, "g": gateway, "at": at,
              "s": json.dumps(s.to_record())} for version, s in rows])


def stats_since(db: Database, name: str, versions: Iterable[str],
                since: str = "") -> dict[str, VersionStats]:
    """version -> the summed stats of every gateway since time ``since`` (all time: "")."""
    model_id = model_id_of(db, name)
    totals: dict[str, VersionStats] = {}
    for version in versions:
        total = VersionStats()
        for row in db.query("SELECT stats_json FROM serving_stats WHERE model_id = :m AND "
                            "version = :v AND at >= :since",
                            {"m": model_id, "v": version, "since": since}):
            total = total + VersionStats.from_record(json.loads(row["stats_json"]))
        totals[version] = total
    return totals
