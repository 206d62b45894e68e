"""The history of one metric: read it back, export it as CSV or JSON, draw it as a sparkline.

Points come back ordered by step, then by the order they were written. NaN and infinities
are written ``NaN``, ``Infinity`` and ``-Infinity`` in both CSV and JSON (JSON has no literal
for them; the strings are what ``modelkeep`` reads back everywhere). A sparkline uses the eight
Unicode block characters; NaN is drawn as ``·`` and infinities as ``↑``/``↓``.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

from modelkeep.db.database import Database
from modelkeep.errors import NotFoundError, did_you_mean
from modelkeep.results import Result, format_float

BLOCKS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class MetricHistory:
    """The points of one series: parallel lists of steps, values and times (epoch ms)."""

    run: str
    name: str
    steps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    times: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.steps)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: points as ``{"step", "value", "timestamp"}`` (NaN as a string)."""
        return {"run": self.run, "metric": self.name, "points": [
            {"step": s, "value": _json_value(v), "timestamp": iso_ms(t)}
            for s, v, t in zip(self.steps, self.values, self.times, strict=True)]}

    def to_csv(self) -> str:
        """``step,value,timestamp`` lines with a header."""
        return to_csv(self)

    def to_json(self) -> str:
        """The JSON form as indented text."""
        return to_json(self)

    def summary(self) -> HistorySummary:
        """Count, first/last step, min, max and last value (NaN-aware)."""
        return summary(self)

    def sparkline(self, width: int = 60) -> str:
        """The values as one line of at most ``width`` block characters."""
        return sparkline(self.values, width)


@dataclass(frozen=True)
class HistorySummary(Result):
    """A metric history in numbers: points, first and last step, min, max, last, NaN count."""

    points: int
    first_step: int | None
    last_step: int | None
    min: float
    max: float
    last: float
    nan: int


def _json_value(value: float) -> float | str:
    return value if math.isfinite(value) else format_float(value)


def iso_ms(ms: int) -> str:
    """Epoch milliseconds as UTC ISO 8601 with milliseconds."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def read_history(db: Database, run_pk: int, run_id: str, name: str) -> MetricHistory:
    """Every point of metric ``name`` of a run, by step."""
    key_id = db.scalar("SELECT id FROM metric_keys WHERE run_id = :r AND name = :n",
                       {"r": run_pk, "n": name})
    if key_id is None:
        names = [r["name"] for r in db.query("SELECT name FROM metric_keys WHERE run_id = :r",
                                              {"r": run_pk})]
        suggestion = did_you_mean(name, names)
        raise NotFoundError(
            f"run {run_id} has no metric '{name}'" + (f"; {suggestion}" if suggestion else ""),
            hint=f"run 'modelkeep runs show {run_id[:8]}' to see its metrics",
            run=run_id, metric=name,
        )
    sql = "SELECT step, value, ts FROM metric_points WHERE key_id = :k ORDER BY step, id"
    rows = db.query_tuples(sql, {"k": key_id})  # a Row object per point costs a third of the read
    nan = math.nan
    return MetricHistory(run_id, name, [r[0] for r in rows],
                         [nan if r[1] is None else r[1] for r in rows], [r[2] for r in rows])


def to_csv(history: MetricHistory) -> str:
    """``step,value,timestamp`` lines with a header."""
    lines = ["step,value,timestamp"]
    lines.extend(f"{s},{format_float(float(v))},{iso_ms(t)}"
                 for s, v, t in zip(history.steps, history.values, history.times, strict=True))
    return "\n".join(lines) + "\n"


def to_json(history: MetricHistory) -> str:
    """The history as JSON text."""
    return json.dumps(history.to_dict(), indent=2, allow_nan=False)


def sparkline(values: list[float], width: int = 60) -> str:
    """The values as one line of at most ``width`` block characters (bucket means)."""
    if not values:
        return ""
    width = max(1, width)
    size = math.ceil(len(values) / width)
    buckets = [values[i:i + size] for i in range(0, len(values), size)]
    points = [_bucket(b) for b in buckets]
    finite = [p for p in points if math.isfinite(p)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
    span = high / 2 - low / 2  # halves: the full span of two huge floats would overflow
    out = []
    for p in points:
        if math.isnan(p):
            out.append("·")
        elif math.isinf(p):
            out.append("↑" if p > 0 else "↓")
        else:
            level = 0 if span == 0 else round((p / 2 - low / 2) / span * (len(BLOCKS) - 1))
            out.append(BLOCKS[min(max(level, 0), len(BLOCKS) - 1)])
    return "".join(out)


def _bucket(values: list[float]) -> float:
    """A bucket's mean over finite values; NaN/inf only when the bucket holds nothing else."""
    finite = [v for v in values if math.isfinite(v)]
    if finite:
        return sum(v / len(finite) for v in finite)  # never overflows, unlike sum() / n
    return next((v for v in values if math.isinf(v)), math.nan)


def summary(history: MetricHistory) -> HistorySummary:
    """Count, first/last step, min, max and last value of a history (NaN-aware)."""
    finite = [v for v in history.values if not math.isnan(v)]
    return HistorySummary(
        points=len(history),
        first_step=history.steps[0] if history.steps else None,
        last_step=history.steps[-1] if history.steps else None,
        min=min(finite) if finite else math.nan,
        max=max(finite) if finite else math.nan,
        last=history.values[-1] if history.values else math.nan,
        nan=len(history) - len(finite),
    )
