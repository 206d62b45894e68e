"""Metric history: read back by step, CSV/JSON export with NaN and infinities, sparklines."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelkeep.errors import NotFoundError
from modelkeep.keep import Keep
from modelkeep.tracking.history import BLOCKS, sparkline, summary, to_csv, to_json


def test_history_export_round_trip(keep: Keep) -> None:
    with keep.start_run("m", capture=False) as run:
        for step, value in [(2, 0.5), (0, math.nan), (1, math.inf), (3, -math.inf)]:
            run.log_metric("loss", value, step=step)
    history = keep.metric_history(run.id, "loss")
    assert history.steps == [0, 1, 2, 3]
    rows = list(csv.DictReader(io.StringIO(to_csv(history))))
    assert [r["value"] for r in rows] == ["NaN", "Infinity", "0.5", "-Infinity"]
    assert rows[0]["timestamp"].endswith("Z")
    points = json.loads(to_json(history))["points"]
    assert [p["value"] for p in points] == ["NaN", "Infinity", 0.5, "-Infinity"]
    s = summary(history)
    assert s["min"] == -math.inf and s["max"] == math.inf and s["nan"] == 1


def test_unknown_metric_suggests(keep: Keep) -> None:
    with keep.start_run("m", capture=False) as run:
        run.log_metric("val_loss", 1.0)
    with pytest.raises(NotFoundError, match="did you mean 'val_loss'"):
        keep.metric_history(run.id, "val_los")


def test_sparkline_shapes() -> None:
    assert sparkline([]) == ""
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == BLOCKS
    assert sparkline([5, 5, 5]) == BLOCKS[0] * 3
    assert sparkline([1, math.nan, math.inf, -math.inf, 2]) == "▁·↑↓█"
    assert len(sparkline(list(range(1000)), width=40)) == 40


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=300),
       st.integers(min_value=1, max_value=120))
def test_sparkline_never_fails_and_fits(values: list[float], width: int) -> None:
    line = sparkline(values, width)
    assert len(line) <= width
    assert set(line) <= set(BLOCKS) | {"·", "↑", "↓"}
