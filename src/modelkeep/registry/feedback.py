"""Feedback on answers: labels and outcome values joined to the version that answered.

A gateway receives ``POST /v1/feedback`` for a request it (or another replica) answered and
appends one ``feedback`` row (migration 0006) per item, in batches about once a second. A label
is compared with the answer's outputs when the gateway still holds them (exact JSON equality),
which gives the version's accuracy; an outcome value (a click, a sale, a rating) is summed for
business metrics. ``summary`` reads them back per version, one item per request id (the first).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from modelkeep.clock import now_iso
from modelkeep.db.database import Database
from modelkeep.registry.versions import model_id_of


@dataclass(frozen=True)
class Feedback:
    """One label or outcome for one answered request."""

    version: str
    request_id: str
    label: Any = None
    value: float | None = None
    correct: bool | None = None  # None: no label, or the answer's outputs are not known

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FeedbackSummary:
    """A version's feedback: how many items, how many labels were judged and matched, and the
    outcome values' count and mean."""

    items: int = 0
    judged: int = 0
    correct: int = 0
    values: int = 0
    value_sum: float = 0.0

    @property
    def accuracy(self) -> float | None:
        """Matched labels over judged labels (None: none judged)."""
        return self.correct / self.judged if self.judged else None

    @property
    def value_mean(self) -> float | None:
        """Mean outcome value (None: no values)."""
        return self.value_sum / self.values if self.values else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "accuracy": self.accuracy, "value_mean": self.value_mean}


def record_feedback(db: Database, name: str, items: Sequence[Feedback]) -> None:
    """Append ``items`` for model ``name`` in one transaction."""
    if not items:
        return
    with db.write():
        model_id = model_id_of(db, name)
        at = now_iso()
        db.executemany(
            "INSERT INTO feedback (model_id, version, request_id, at, label_json, value, correct) "
            "VALUES (:m, :v, :r, :at, :label, :value, :correct)",
            [{"m": model_id, "v": f.version, "r": f.request_id, "at": at,
              "label": None if f.label is None else json.dumps(f.label), "value": f.value,
              "correct": f.correct} for f in items])


def summary(db: Database, name: str, versions: Iterable[str], since: str = "") -> dict[str, FeedbackSummary]:
    """version -> its feedback since time ``since`` (all time: ""), counting the first item per
    request id only: a repeat (sent twice, or to two replicas) is kept but never counted again."""
    model_id = model_id_of(db, name)
    out = {}
    for version in versions:
        row = db.query_one(
            "SELECT COUNT(*) AS items, COUNT(correct) AS judged, "
            "COALESCE(SUM(CASE WHEN correct THEN 1 ELSE 0 END), 0) AS correct, "
            "COUNT(value) AS n_values, COALESCE(SUM(value), 0) AS value_sum FROM feedback "
            "WHERE id IN (SELECT MIN(id) FROM feedback WHERE model_id = :m AND version = :v "
            "GROUP BY request_id) AND at >= :since",
            {"m": model_id, "v": version, "since": since})
        assert row is not None
        out[version] = FeedbackSummary(int(row["items"]), int(row["judged"]), int(row["correct"]),
                                       int(row["n_values"]), float(row["value_sum"]))
    return out


def check_value(value: Any) -> float | None:
    """An outcome value: a finite number, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("value must be a finite number")
    return float(value)
