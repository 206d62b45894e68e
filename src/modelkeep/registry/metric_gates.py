"""Metric gates: ``--gate 'accuracy >= stable - 0.01'``, judged on serving counts and feedback.

An expression is parsed by the validation policy's parser (``validation/expressions.py``, never
``eval``) and names metrics of the two versions of a rollout: ``METRIC`` or
``candidate.METRIC`` (the candidate's), ``stable.METRIC`` (the stable version's), and a bare
``stable`` means the stable version's value of the first metric the expression names, so
``accuracy >= stable - 0.01`` reads as it sounds. The metrics:

========== ======================================================================
accuracy   judged feedback labels that matched the answer, over judged labels
value      mean outcome value sent as feedback (a click, a sale, a rating)
error_rate failed answers over answers;  p50_ms, p95_ms, p99_ms: latency
requests   answers in the step
agreement  share of shadow copies whose outputs agree with the stable answer
========== ======================================================================

A gate on ``agreement`` judges the shadow phase; one on ``accuracy`` or ``value`` (feedback
on answers users saw) judges the canary steps; the others judge both. A gate waits while a
metric it names has too little behind it (``min_requests`` answers, ``min_feedback`` labels
or values, any compared shadow copy).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from modelkeep.errors import InvalidInputError, did_you_mean
from modelkeep.registry.validation.expressions import Comparison, ExpressionError, Ref, parse_expression

METRICS = ("accuracy", "value", "error_rate", "p50_ms", "p95_ms", "p99_ms", "requests",
           "agreement")
FEEDBACK_METRICS = frozenset({"accuracy", "value"})
SIDES = ("stable", "candidate")


def _bad(text: str, problem: str) -> InvalidInputError:
    return InvalidInputError(f"gate {text!r}: {problem}",
                             hint="e.g. --gate 'accuracy >= stable - 0.01'; metrics: "
                                  + ", ".join(METRICS))


def parse_gate(text: str) -> Comparison:
    """A metric gate's expression, checked: every name a known metric of ``stable`` or the
    candidate (``InvalidInputError`` naming the problem otherwise)."""
    try:
        comparison = parse_expression(text)
    except ExpressionError as exc:
        raise _bad(text, str(exc)) from None
    named = [r for r in comparison.refs() if not (r.target is None and r.metric in SIDES)]
    if not named:
        raise _bad(text, "it names no metric")
    for ref in comparison.refs():
        if ref.target is not None and ref.target not in SIDES:
            raise _bad(text, f"{ref.target!r} is neither stable nor candidate")
        if ref.metric not in METRICS and not (ref.target is None and ref.metric in SIDES):
            hint = did_you_mean(ref.metric, METRICS)
            raise _bad(text, f"unknown metric {ref.metric!r}" + (f" ({hint})" if hint else ""))
    return comparison


def metrics_of(comparison: Comparison) -> set[str]:
    """The metric names an expression reads."""
    first = next(r.metric for r in comparison.refs() if r.metric not in SIDES or r.target)
    return {first if r.target is None and r.metric in SIDES else r.metric
            for r in comparison.refs()}


def judges(comparison: Comparison, phase: str) -> bool:
    """Whether the gate applies to a rollout in ``phase`` (see the module docstring)."""
    names = metrics_of(comparison)
    if phase == "shadow":
        return not names & FEEDBACK_METRICS
    return "agreement" not in names


@dataclass(frozen=True)
class Side:
    """One version's metric values; ``short`` says why a metric cannot be judged yet."""

    values: Mapping[str, float | None]
    short: Mapping[str, str]


class _Waiting(Exception):
    pass


def judge(comparison: Comparison, candidate: Side, stable: Side) -> tuple[str, float | None,
                                                                          float | None, str]:
    """(verdict, left value, right value, detail) of one gate."""
    first = next(r.metric for r in comparison.refs() if r.metric not in SIDES or r.target)

    def value_of(ref: Ref) -> float:
        if ref.target is None and ref.metric in SIDES:
            side, metric = (stable if ref.metric == "stable" else candidate), first
        else:
            side, metric = (stable if ref.target == "stable" else candidate), ref.metric
        who = "the stable version" if side is stable else "the candidate"
        if metric in side.short:
            raise _Waiting(f"{who} {side.short[metric]}")
        value = side.values.get(metric)
        if value is None or math.isnan(value):
            raise _Waiting(f"{who} has no {metric} yet")
        return value

    try:
        holds, left, right = comparison.evaluate(value_of)
    except _Waiting as wait:
        return "waiting", None, None, str(wait)
    except ZeroDivisionError:
        return "waiting", None, None, "a division by zero (no data yet)"
    detail = f"{left:.4g} {comparison.op} {right:.4g}"
    return ("pass" if holds else "fail"), left, right, detail
