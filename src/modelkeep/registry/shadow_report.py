"""The shadow report: does the candidate agree with the stable version on the same requests,
how fast does it answer and how often does it fail, with a sample of the disagreements.

It reads the model's latest shadow test (the newest rollout that had a shadow phase, running
or not), sums the counts every gateway reported for it (``registry/shadow_stats.py``) and
reads the stable version's error rate over the same time from the serving counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from modelkeep.db.database import Database
from modelkeep.errors import InvalidInputError, RolloutStateError
from modelkeep.registry import agreement, serving
from modelkeep.registry.deployments import history
from modelkeep.registry.shadow_stats import Disagreement, ShadowStats, shadow_samples, shadow_totals

QUANTILES = (("p50_ms", 0.5), ("p95_ms", 0.95), ("p99_ms", 0.99))


def _latency(buckets: tuple[int, ...]) -> dict[str, float | None]:
    stats = serving.VersionStats(requests=sum(buckets), latency=buckets)
    out: dict[str, float | None] = {}
    for name, q in QUANTILES:
        value = stats.percentile_ms(q)
        out[name] = None if math.isnan(value) else round(value, 3)
    return out


@dataclass(frozen=True)
class ShadowReport:
    """A shadow test's outcome: agreement within ``tolerance`` (counted exactly at
    ``tolerance_edge``), the candidate's latency and failures beside the stable version's."""

    model: str
    stable: str
    candidate: str
    rollout: str
    phase: str
    started: str
    tolerance: float
    stats: ShadowStats
    stable_error_rate: float | None
    disagreements: tuple[Disagreement, ...]

    @property
    def agreeing(self) -> int:
        return self.stats.agreeing(self.tolerance)

    @property
    def agreement(self) -> float | None:
        """Share of compared copies whose outputs agree (None: nothing compared yet)."""
        return self.agreeing / self.stats.compared if self.stats.compared else None

    @property
    def error_rate(self) -> float | None:
        """Share of copies the candidate failed (raised, timed out, could not be loaded)."""
        return self.stats.errors / self.stats.copies if self.stats.copies else None

    def to_dict(self) -> dict[str, Any]:
        s = self.stats
        return {"model": self.model, "stable": self.stable, "candidate": self.candidate,
                "rollout": self.rollout, "phase": self.phase, "started": self.started,
                "tolerance": self.tolerance,
                "tolerance_edge": agreement.tolerance_edge(self.tolerance),
                "copies": s.copies, "compared": s.compared, "agreeing": self.agreeing,
                "agreement": self.agreement, "exact": s.distances[0],
                "mismatched": s.distances[agreement.MISMATCH], "errors": s.errors,
                "timeouts": s.timeouts, "dropped": s.dropped, "error_rate": self.error_rate,
                "stable_error_rate": self.stable_error_rate,
                "latency": {"candidate": _latency(s.candidate_latency),
                            "stable": _latency(s.stable_latency)},
                "disagreements": [d.to_dict() for d in self.disagreements]}


def shadow_report(db: Database, name: str, tolerance: float | None = None) -> ShadowReport:
    """The report on model ``name``'s latest shadow test (``RolloutStateError``: none yet),
    agreement within ``tolerance`` (None: the tolerance the rollout was started with)."""
    if tolerance is not None and not 0 <= tolerance < math.inf:
        raise InvalidInputError(f"tolerance {tolerance} is not a number at least 0",
                                hint="e.g. --tolerance 1e-6")
    events = history(db, name)
    found = None
    for event in reversed(events):
        rollout = event.state.rollout
        if rollout is not None and rollout.phase == "shadow":
            found = event
            break
    if found is None or found.state.rollout is None or found.state.stable is None:
        raise RolloutStateError(f"{name} has had no shadow test to report on",
                                hint=f"modelkeep deploy {name} --shadow VERSION", name=name,
                                action="report")
    rollout, stable = found.state.rollout, found.state.stable
    tolerance = rollout.tolerance if tolerance is None else tolerance
    started = next(e.at for e in events if e.state.rollout and e.state.rollout.seed == rollout.seed)
    latest = events[-1].state.rollout
    phase = latest.phase if latest is not None and latest.seed == rollout.seed else "ended"
    stats = shadow_totals(db, name, rollout.seed).get((stable, rollout.candidate), ShadowStats())
    served = serving.stats_since(db, name, [stable], started)[stable]
    return ShadowReport(name, stable, rollout.candidate, rollout.seed, phase, started, tolerance,
                        stats, served.error_rate if served.requests else None,
                        tuple(shadow_samples(db, name, rollout.seed)))
