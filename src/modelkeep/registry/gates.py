"""Canary gates: may the candidate take more traffic, or must the rollout abort?

Pure: given the candidate's and the stable version's serving statistics over the current step
(summed over every gateway), each gate answers pass, fail or waiting (too few requests yet to
judge). Error rate: the candidate's may exceed the stable version's by at most
``max_error_rate`` (absolute: 0.01 is one percentage point). Latency: the candidate's p99 may
be at most ``max_p99_ratio`` times the stable version's, or ``p99_slack_ms`` above it if that
is more: sub-millisecond p99s over a few hundred requests differ by 2x from noise alone, and a
gate must not abort on noise.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from modelkeep.errors import InvalidInputError
from modelkeep.registry.serving import VersionStats

if TYPE_CHECKING:
    from modelkeep.registry.rollout import Rollout


@dataclass(frozen=True)
class GatePolicy:
    """The limits a canary step must hold, and the requests needed before judging."""

    max_error_rate: float = 0.01
    max_p99_ratio: float = 1.5
    min_requests: int = 100
    p99_slack_ms: float = 5.0
    expressions: tuple[str, ...] = ()  # metric gates: 'accuracy >= stable - 0.01'
    min_feedback: int = 30  # judged labels (outcome values) before accuracy (value) gates judge

    def __post_init__(self) -> None:
        from modelkeep.registry.metric_gates import parse_gate

        object.__setattr__(self, "expressions", tuple(self.expressions))
        for text in self.expressions:
            parse_gate(text)
        if self.min_feedback < 1:
            raise InvalidInputError("--min-feedback is at least 1", hint="e.g. --min-feedback 30")
        if not 0 <= self.max_error_rate <= 1 or not self.max_p99_ratio >= 1 \
                or self.min_requests < 1 or not 0 <= self.p99_slack_ms < math.inf:
            raise InvalidInputError(
                "gate limits: --max-error-rate is in [0, 1], --max-p99-ratio at least 1, "
                "--min-requests at least 1, the p99 slack a number of ms",
                hint="e.g. --max-error-rate 0.01 --max-p99-ratio 1.5")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["expressions"] = list(self.expressions)
        return data


@dataclass(frozen=True)
class GateResult:
    """One gate's verdict (pass, fail, waiting) with the candidate's value and the limit."""

    gate: str
    verdict: str
    value: float | None
    limit: float | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _waiting(gate: str, who: str, stats: VersionStats, policy: GatePolicy) -> GateResult:
    return GateResult(gate, "waiting", None, None,
                      f"{who} has {stats.requests} of {policy.min_requests} requests this step")


def evaluate(policy: GatePolicy, candidate: VersionStats, stable: VersionStats) -> list[GateResult]:
    """Every gate's verdict for the current step."""
    results = []
    if candidate.requests < policy.min_requests:
        results.append(_waiting("error_rate", "the candidate", candidate, policy))
    else:
        limit = min(1.0, stable.error_rate + policy.max_error_rate)
        verdict = "fail" if candidate.error_rate > limit else "pass"
        results.append(GateResult("error_rate", verdict, candidate.error_rate, limit,
                                  f"{candidate.error_rate:.2%} of {candidate.requests} requests "
                                  f"failed (limit {limit:.2%}: stable {stable.error_rate:.2%} + "
                                  f"{policy.max_error_rate:.2%})"))
    if candidate.requests < policy.min_requests:
        results.append(_waiting("p99_latency", "the candidate", candidate, policy))
    elif stable.requests < policy.min_requests:
        results.append(_waiting("p99_latency", "the stable version", stable, policy))
    else:
        p99, base = candidate.percentile_ms(0.99), stable.percentile_ms(0.99)
        limit = max(base * policy.max_p99_ratio, base + policy.p99_slack_ms)
        verdict = "fail" if p99 > limit and not math.isclose(p99, limit) else "pass"
        results.append(GateResult("p99_latency", verdict, p99, limit,
                                  f"p99 {p99:.3g} ms (limit {limit:.3g} ms: stable {base:.3g} ms "
                                  f"x {policy.max_p99_ratio:g}, or + {policy.p99_slack_ms:g} ms)"))
    return results


def overall(results: list[GateResult]) -> str:
    """fail when any gate fails, else waiting when any waits, else pass."""
    verdicts = {r.verdict for r in results}
    return "fail" if "fail" in verdicts else "waiting" if "waiting" in verdicts else "pass"


def decide(rollout: Rollout, results: list[GateResult], step_started: str,
           now: datetime) -> tuple[str, str] | None:
    """What the gates ask of a running canary step, or of a shadow phase watched for a
    ``shadow_window``, now: ``("abort", why)`` when one failed, ``("promote", why)`` when all
    held for the whole window, else None (by hand only when the window is 0: a shadow test
    without a window is never moved nor aborted by its gates; a paused rollout never moves)."""
    if rollout.phase not in ("canary", "shadow") or rollout.paused:
        return None
    window = rollout.window if rollout.phase == "canary" else rollout.shadow_window
    if rollout.phase == "shadow" and window <= 0:
        return None
    failed = [r for r in results if r.verdict == "fail"]
    if failed:
        return "abort", "gate " + "; ".join(f"{r.gate} failed: {r.detail}" for r in failed)
    if window <= 0 or not step_started or overall(results) != "pass":
        return None
    began = datetime.fromisoformat(step_started.replace("Z", "+00:00"))
    if (now - began).total_seconds() < window:
        return None
    where = "" if rollout.phase == "canary" else " of the shadow phase"
    return "promote", f"gates held for the {window:g} s window{where}"
