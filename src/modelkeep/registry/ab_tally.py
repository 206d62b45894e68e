"""What each arm of an A/B/n test did, in sums that add up across gateways and intervals.

A gateway counts, per arm and per kind of assignment (``keyed``: routed by the ``--by`` key,
so the user always sees that arm; or drawn at random because the request had no key), the
requests and errors with their latency histogram (``serving.VersionStats``), the count, sum
and sum of squares of the latencies and of each named outcome value from feedback, and the
labels judged and matched. Counts, sums and sums of squares add up exactly, and they are all
a confidence interval or a sequential test of a mean needs. Gateways append their tallies to
``ab_tallies`` (migration 0010) about once a second; ``tallies_since`` sums them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelkeep.clock import now_iso
from modelkeep.db.database import Database
from modelkeep.registry.serving import VersionStats
from modelkeep.registry.versions import model_id_of


@dataclass(frozen=True)
class Moments:
    """Count, sum and sum of squares of some observations."""

    n: int = 0
    total: float = 0.0
    squares: float = 0.0

    def __add__(self, other: Moments) -> Moments:
        return Moments(self.n + other.n, self.total + other.total, self.squares + other.squares)

    def plus(self, value: float) -> Moments:
        """These moments with one more observation."""
        return Moments(self.n + 1, self.total + value, self.squares + value * value)

    @property
    def mean(self) -> float | None:
        """The mean (None: no observations)."""
        return self.total / self.n if self.n else None

    def to_list(self) -> list[float]:
        return [self.n, self.total, self.squares]

    @classmethod
    def from_list(cls, data: Any) -> Moments:
        n, total, squares = data
        return cls(int(n), float(total), float(squares))


@dataclass(frozen=True)
class ArmTally:
    """One arm's requests (``stats``), latencies in ms, judged and matched labels, and
    outcome values by name."""

    stats: VersionStats = VersionStats()
    latency_ms: Moments = Moments()
    judged: int = 0
    correct: int = 0
    outcomes: Mapping[str, Moments] = field(default_factory=dict)

    def __add__(self, other: ArmTally) -> ArmTally:
        names = sorted({*self.outcomes, *other.outcomes})
        return ArmTally(self.stats + other.stats, self.latency_ms + other.latency_ms,
                        self.judged + other.judged, self.correct + other.correct,
                        {n: self.outcomes.get(n, Moments()) + other.outcomes.get(n, Moments())
                         for n in names})

    def to_record(self) -> dict[str, Any]:
        """The stored form."""
        return {"stats": self.stats.to_record(), "latency_ms": self.latency_ms.to_list(),
                "judged": self.judged, "correct": self.correct,
                "outcomes": {n: m.to_list() for n, m in self.outcomes.items()}}

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> ArmTally:
        """The inverse of ``to_record``."""
        return cls(VersionStats.from_record(data.get("stats") or {}),
                   Moments.from_list(data.get("latency_ms") or (0, 0, 0)),
                   int(data.get("judged", 0)), int(data.get("correct", 0)),
                   {str(n): Moments.from_list(m) for n, m in (data.get("outcomes") or {}).items()})


TallyKey = tuple[str, bool]  # (arm, keyed)
SeenUser = tuple[str, str, str]  # (since: when the split took effect, user hash, arm)


def record_tallies(db: Database, name: str, test: str, tallies: Mapping[TallyKey, ArmTally],
                   gateway: str, users: Sequence[SeenUser] = ()) -> None:
    """Append what ``gateway`` counted for each arm of ``name``'s test ``test``, and the
    users it saw (each user is counted once per split however many gateways saw it)."""
    if not tallies and not users:
        return
    with db.write():
        if users:
            db.executemany(
                "INSERT INTO ab_users (test, since, user_hash, arm) VALUES (:t, :s, :u, :a) "
                "ON CONFLICT (test, since, user_hash) DO NOTHING",
                [{"t": test, "s": since, "u": user, "a": arm} for since, user, arm in users])
        if not tallies:
            return
        model_id = model_id_of(db, name)
        at = now_iso()
        db.executemany(
            "INSERT INTO ab_tallies (model_id, test, arm, keyed, gateway, at, tally_json) "
            "VALUES (:m, :t, :arm, :keyed, :g, :at, :tally)",
            [{"m": model_id, "t": test, "arm": arm, "keyed": keyed, "g": gateway, "at": at,
              "tally": json.dumps(tally.to_record())} for (arm, keyed), tally in tallies.items()])


def tallies_since(db: Database, name: str, test: str, since: str = "") -> dict[TallyKey, ArmTally]:
    """(arm, keyed) -> the summed tallies of every gateway for test ``test`` since ``since``."""
    totals: dict[TallyKey, ArmTally] = {}
    for row in db.query("SELECT arm, keyed, tally_json FROM ab_tallies WHERE model_id = :m "
                        "AND test = :t AND at >= :since",
                        {"m": model_id_of(db, name), "t": test, "since": since}):
        key = (row["arm"], bool(row["keyed"]))
        totals[key] = totals.get(key, ArmTally()) + ArmTally.from_record(json.loads(row["tally_json"]))
    return totals


def users_since(db: Database, test: str, since: str) -> dict[str, int]:
    """arm -> the users test ``test`` has seen on it under the split that took effect at ``since``."""
    rows = db.query("SELECT arm, COUNT(*) AS n FROM ab_users WHERE test = :t AND since = :s "
                    "GROUP BY arm", {"t": test, "s": since})
    return {row["arm"]: int(row["n"]) for row in rows}
