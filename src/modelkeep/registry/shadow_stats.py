"""What a shadow test's copies did, stored in the keep so the counts of every gateway add up.

Each gateway counts, per shadow rollout (its seed), the copies it sent to the candidate, those
the candidate answered and that could be compared with the stable version's answer (with the
distance between the two in ``registry/agreement.py`` buckets), the candidate's failures, the
copies dropped because the shadow workers were busy, and both versions' latency on the copied
requests (``registry/serving.py`` buckets). About once a second it appends them to
``shadow_stats`` (migration 0007, shadow), with at most ``SAMPLE_LIMIT`` disagreements per
rollout in ``shadow_disagreements``: request id, distance and hashes of the inputs and of both
outputs, never the payloads (with payload logging on, those are in the payload log under the
same request id, redacted and purged with every other payload: docs/privacy.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from modelkeep.clock import now_iso
from modelkeep.db.database import Database
from modelkeep.registry import agreement, serving
from modelkeep.registry.versions import model_id_of

SAMPLE_LIMIT = 20  # disagreements kept per shadow rollout, over every gateway


def _sparse(counts: Sequence[int]) -> dict[str, int]:
    return {str(i): c for i, c in enumerate(counts) if c}


def _dense(data: Mapping[str, Any] | None, size: int) -> tuple[int, ...]:
    out = [0] * size
    for index, count in (data or {}).items():
        if 0 <= int(index) < size:
            out[int(index)] = int(count)
    return tuple(out)


@dataclass(frozen=True)
class ShadowStats:
    """Counts of one shadow rollout's copies (summable: ``a + b``)."""

    copies: int = 0
    compared: int = 0
    errors: int = 0
    timeouts: int = 0
    dropped: int = 0
    distances: tuple[int, ...] = (0,) * agreement.BUCKETS
    candidate_latency: tuple[int, ...] = (0,) * serving.BUCKETS
    stable_latency: tuple[int, ...] = (0,) * serving.BUCKETS

    def __add__(self, other: ShadowStats) -> ShadowStats:
        def add(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
            return tuple(x + y for x, y in zip(a, b, strict=True))

        return ShadowStats(self.copies + other.copies, self.compared + other.compared,
                           self.errors + other.errors, self.timeouts + other.timeouts,
                           self.dropped + other.dropped, add(self.distances, other.distances),
                           add(self.candidate_latency, other.candidate_latency),
                           add(self.stable_latency, other.stable_latency))

    def agreeing(self, tolerance: float) -> int:
        """Compared copies whose outputs agree within ``tolerance``."""
        return agreement.agreeing(dict(enumerate(self.distances)), tolerance)

    def to_record(self) -> dict[str, Any]:
        """The stored form (histograms as {bucket: count} for non-empty buckets)."""
        data = asdict(self)
        for name in ("distances", "candidate_latency", "stable_latency"):
            data[name] = _sparse(data[name])
        return data

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> ShadowStats:
        """The inverse of ``to_record``."""
        copies, compared, errors, timeouts, dropped = (
            int(data.get(k, 0)) for k in ("copies", "compared", "errors", "timeouts", "dropped"))
        return cls(copies, compared, errors, timeouts, dropped,
                   _dense(data.get("distances"), agreement.BUCKETS),
                   _dense(data.get("candidate_latency"), serving.BUCKETS),
                   _dense(data.get("stable_latency"), serving.BUCKETS))


@dataclass(frozen=True)
class Disagreement:
    """One copied request whose outputs differed (or that the candidate failed): hashes of
    the inputs and of each side's outputs (BLAKE2b-128 of their canonical JSON)."""

    request_id: str
    distance: float | None  # None: the candidate failed (``error`` says how)
    inputs_hash: str
    stable_hash: str
    candidate_hash: str | None
    error: str | None = None
    at: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["distance"] == float("inf"):
            data["distance"] = "mismatch"  # JSON has no infinity
        return data


@dataclass(frozen=True)
class ShadowBatch:
    """What one gateway hands the keep for one shadow rollout since its last report."""

    rollout: str
    stable: str
    candidate: str
    stats: ShadowStats
    samples: tuple[Disagreement, ...] = ()


def record_shadow(db: Database, name: str, batches: Sequence[ShadowBatch], gateway: str) -> None:
    """Append ``batches`` for model ``name``, keeping at most ``SAMPLE_LIMIT`` disagreements per
    rollout (the first ones to arrive, from whichever gateway)."""
    if not batches:
        return
    with db.write():
        db.lock_named(f"shadow:{name}")
        model_id, at = model_id_of(db, name), now_iso()
        for b in batches:
            keys = {"m": model_id, "r": b.rollout, "s": b.stable, "c": b.candidate}
            db.execute("INSERT INTO shadow_stats (model_id, rollout, stable, candidate, gateway, "
                       "at, stats_json) VALUES (:m, :r, :s, :c, :g, :at, :j)",
                       {**keys, "g": gateway, "at": at, "j": json.dumps(b.stats.to_record())})
            held = int(db.scalar("SELECT COUNT(*) FROM shadow_disagreements WHERE model_id = :m "
                                 "AND rollout = :r", {"m": model_id, "r": b.rollout}) or 0)
            room = max(0, SAMPLE_LIMIT - held)
            if room and b.samples:
                db.executemany(
                    "INSERT INTO shadow_disagreements (model_id, rollout, stable, candidate, "
                    "request_id, at, sample_json) VALUES (:m, :r, :s, :c, :q, :at, :j)",
                    [{**keys, "q": d.request_id, "at": d.at or at,
                      "j": json.dumps({**d.to_dict(), "at": d.at or at})}
                     for d in b.samples[:room]])


def shadow_totals(db: Database, name: str, rollout: str) -> dict[tuple[str, str], ShadowStats]:
    """(stable, candidate) -> the summed stats of every gateway for one shadow rollout."""
    totals: dict[tuple[str, str], ShadowStats] = {}
    for row in db.query("SELECT stable, candidate, stats_json FROM shadow_stats "
                        "WHERE model_id = :m AND rollout = :r ORDER BY id",
                        {"m": model_id_of(db, name), "r": rollout}):
        key = (row["stable"], row["candidate"])
        stats = ShadowStats.from_record(json.loads(row["stats_json"]))
        totals[key] = totals.get(key, ShadowStats()) + stats
    return totals


def shadow_samples(db: Database, name: str, rollout: str) -> list[Disagreement]:
    """The disagreements kept for one shadow rollout, oldest first."""
    out = []
    for row in db.query("SELECT sample_json FROM shadow_disagreements WHERE model_id = :m AND "
                        "rollout = :r ORDER BY id", {"m": model_id_of(db, name), "r": rollout}):
        data = json.loads(row["sample_json"])
        if data.get("distance") == "mismatch":
            data["distance"] = float("inf")
        out.append(Disagreement(**{k: data.get(k) for k in Disagreement.__dataclass_fields__}))
    return out
