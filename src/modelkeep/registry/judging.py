"""The gates' verdicts on a running rollout, from what the keep holds: every gateway's serving
counts since the step (or shadow phase) began, the feedback joined to each version since
then, and the shadow test's agreement. The built-in gates (``registry/gates.py``) judge the
canary steps and a shadow phase; the metric gates (``registry/metric_gates.py``) judge the
phases they apply to.
"""

from __future__ import annotations

import math

from modelkeep.db.database import Database
from modelkeep.registry.feedback import FeedbackSummary, summary
from modelkeep.registry.gates import GatePolicy, GateResult, evaluate
from modelkeep.registry.metric_gates import Side, judge, judges, parse_gate
from modelkeep.registry.rollout import Deployment
from modelkeep.registry.serving import VersionStats, stats_since
from modelkeep.registry.shadow_stats import ShadowStats, shadow_totals


def _side(stats: VersionStats, feedback: FeedbackSummary, policy: GatePolicy,
          shadow: ShadowStats | None, tolerance: float) -> Side:
    values: dict[str, float | None] = {
        "requests": float(stats.requests), "error_rate": stats.error_rate,
        "accuracy": feedback.accuracy, "value": feedback.value_mean}
    for name, q in (("p50_ms", 0.5), ("p95_ms", 0.95), ("p99_ms", 0.99)):
        p = stats.percentile_ms(q)
        values[name] = None if math.isnan(p) else p
    short: dict[str, str] = {}
    if stats.requests < policy.min_requests:
        for name in ("error_rate", "p50_ms", "p95_ms", "p99_ms"):
            short[name] = f"has {stats.requests} of {policy.min_requests} requests this step"
    if feedback.judged < policy.min_feedback:
        short["accuracy"] = f"has {feedback.judged} of {policy.min_feedback} judged labels"
    if feedback.values < policy.min_feedback:
        short["value"] = f"has {feedback.values} of {policy.min_feedback} outcome values"
    if shadow is None or not shadow.compared:
        short["agreement"] = "has no compared shadow copies"
    else:
        values["agreement"] = shadow.agreeing(tolerance) / shadow.compared
    return Side(values, short)


def rollout_verdicts(db: Database, state: Deployment) -> list[GateResult]:
    """Each gate's verdict on ``state``'s running canary step or shadow phase ([] otherwise)."""
    rollout = state.active_rollout
    if rollout is None or rollout.phase not in ("canary", "shadow") or state.stable is None:
        return []
    name, candidate, stable = state.model, rollout.candidate, state.stable
    stats = stats_since(db, name, [candidate, stable], state.step_started)
    results = evaluate(rollout.gates, stats[candidate], stats[stable])
    if not rollout.gates.expressions:
        return results
    feedback = summary(db, name, [candidate, stable], state.step_started)
    shadow = (shadow_totals(db, name, rollout.seed).get((stable, candidate))
              if rollout.phase == "shadow" else None)
    sides = (_side(stats[candidate], feedback[candidate], rollout.gates, shadow, rollout.tolerance),
             _side(stats[stable], feedback[stable], rollout.gates, None, rollout.tolerance))
    for text in rollout.gates.expressions:
        comparison = parse_gate(text)
        if judges(comparison, rollout.phase):
            verdict, left, right, detail = judge(comparison, *sides)
            results.append(GateResult(text, verdict, left, right, detail))
    return results
