"""Do two answers agree? The distance between a shadow's outputs and the stable version's.

``distance(a, b)`` is the smallest tolerance at which ``a`` and ``b`` agree: 0 when they are
equal, ``inf`` when they differ in anything but numbers (a string, a key, a length, a type;
``true`` and ``1`` differ), else the largest difference of two numbers at the same place,
relative to the larger of them (absolute below 1): ``|x - y| / max(1, |x|, |y|)``. Nested lists
and objects are compared element by element.

Distances are counted in fixed buckets whose edges are the 1-2-5 steps from 1e-12 to 1e3, so
the counts of every gateway add up and the share that agrees within a tolerance can be read
back for any tolerance: exactly when it is one of the edges (1e-6, 0.01, 0.05 ...), and
conservatively (the largest edge below it) otherwise.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from typing import Any

# parsed from text, so an edge is the very float a user typing "0.01" gets
EDGES: tuple[float, ...] = (0.0, *(float(f"{m}e{e}") for e in range(-12, 3) for m in (1, 2, 5)), 1e3)
FAR = len(EDGES)  # a finite distance above the last edge
MISMATCH = len(EDGES) + 1  # outputs that differ in more than numbers
BUCKETS = len(EDGES) + 2


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numbers(a: float, b: float) -> float:
    if a == b:
        return 0.0
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.inf
    return abs(a - b) / max(1.0, abs(a), abs(b))


def distance(a: Any, b: Any) -> float:
    """The smallest tolerance at which ``a`` and ``b`` agree (see the module docstring);
    iterative, so outputs nested however deep never reach the recursion limit."""
    worst = 0.0
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if _number(x) and _number(y):
            worst = max(worst, _numbers(float(x), float(y)))
        elif isinstance(x, dict) and isinstance(y, dict):
            if x.keys() != y.keys():
                return math.inf
            stack.extend((x[k], y[k]) for k in x)
        elif isinstance(x, list | tuple) and isinstance(y, list | tuple):
            if len(x) != len(y):
                return math.inf
            stack.extend(zip(x, y, strict=True))
        elif type(x) is not type(y) or x != y:
            return math.inf
        if worst == math.inf:
            return worst
    return worst


def bucket_of(d: float) -> int:
    """The bucket counting a distance ``d``."""
    if d == math.inf or math.isnan(d):
        return MISMATCH
    return bisect.bisect_left(EDGES, d)


def tolerance_edge(tolerance: float) -> float:
    """The largest bucket edge at most ``tolerance``: the tolerance counts are exact for."""
    return EDGES[max(0, bisect.bisect_right(EDGES, tolerance) - 1)]


def agreeing(histogram: Mapping[int, int], tolerance: float) -> int:
    """How many of the counted pairs agree within ``tolerance`` (see ``tolerance_edge``)."""
    last = bisect.bisect_right(EDGES, tolerance)  # buckets [0, last) lie within it
    return sum(count for bucket, count in histogram.items() if 0 <= bucket < last)
