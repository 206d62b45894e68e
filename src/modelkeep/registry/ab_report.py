"""The report of an A/B/n test: each metric per arm with its interval, the sample-ratio
check, and each arm's sequential test against the control arm.

Pure: built from the summed tallies (``ab_tally.py``) and the test's state. The metrics are
computed over the keyed requests (routed by the ``--by`` key, so each user stays on one arm);
requests that came without the key were given a random arm and are only counted, apart
(``unkeyed_requests``). A test without ``--by`` draws every request afresh, and all count.

| metric | kind | per request or feedback item |
|---|---|---|
| ``error_rate`` | rate | the arm's answer failed (raised, timed out, unhealthy) |
| ``latency_ms`` | mean | time from handing the call to a worker to its answer |
| ``accuracy`` | rate | a feedback label equal to the answer's outputs |
| ``outcome:NAME`` | mean | a feedback outcome value (``value`` for the plain ``value``) |
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from modelkeep.db.database import Database
from modelkeep.errors import RolloutStateError
from modelkeep.registry import ab_stats
from modelkeep.registry.ab_split import UNITS, shares
from modelkeep.registry.ab_tally import ArmTally, Moments, TallyKey, tallies_since, users_since
from modelkeep.registry.deployments import history
from modelkeep.registry.rollout import Rollout


@dataclass(frozen=True)
class ArmMetric:
    """One metric of one arm: its observations, estimate and confidence interval (Wilson for
    rates, normal for means; None where there is nothing to estimate yet)."""

    metric: str
    kind: str
    n: int
    value: float | None
    low: float | None
    high: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ArmReport:
    """One arm: its version, its configured share now, its keyed and unkeyed requests, its
    latency percentiles (from the histogram, within 15%) and its metrics."""

    arm: str
    version: str
    share: float
    requests: int
    unkeyed_requests: int
    p50_ms: float | None
    p99_ms: float | None
    metrics: tuple[ArmMetric, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "metrics": [m.to_dict() for m in self.metrics]}


@dataclass(frozen=True)
class ArmComparison:
    """An arm against the control on one metric: the mSPRT's difference (arm - control), its
    always-valid interval and p-value, and whether the difference is significant yet."""

    metric: str
    arm: str
    control: str
    difference: float | None
    low: float | None
    high: float | None
    p_value: float | None
    significant: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SampleRatio:
    """The users each arm has seen since the split last changed (requests, for a test
    without a ``--by`` key) against that split."""

    since: str
    observed: dict[str, int]
    expected_share: dict[str, float]
    chi2: float
    p_value: float
    mismatch: bool

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["chi2"] = None if self.chi2 == float("inf") else self.chi2
        return data


@dataclass(frozen=True)
class AbReport:
    """A model's latest A/B/n test: where it stands, each arm, the sample-ratio check and
    each arm's sequential test against the control (the first arm)."""

    model: str
    test: str
    phase: str
    by: str | None
    control: str
    alpha: float
    arms: tuple[ArmReport, ...]
    sample_ratio: SampleRatio
    comparisons: tuple[ArmComparison, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "arms": [a.to_dict() for a in self.arms],
                "sample_ratio": self.sample_ratio.to_dict(),
                "comparisons": [c.to_dict() for c in self.comparisons]}


def _rate(metric: str, successes: int, n: int, confidence: float) -> ArmMetric:
    low, high = ab_stats.wilson(successes, n, confidence) if n else (None, None)
    return ArmMetric(metric, "rate", n, successes / n if n else None, low, high)


def _mean(metric: str, m: Moments, confidence: float) -> ArmMetric:
    interval = ab_stats.mean_interval(m.n, m.total, m.squares, confidence)
    low, high = interval if interval else (None, None)
    return ArmMetric(metric, "mean", m.n, m.mean, low, high)


def _observations(t: ArmTally) -> dict[str, tuple[int, float, float]]:
    """metric -> (n, mean, per-observation variance) for the sequential test."""
    out = {}
    s = t.stats
    if s.requests:
        out["error_rate"] = (s.requests, s.errors / s.requests,
                             ab_stats.rate_variance(s.errors, s.requests))
    if t.judged:
        out["accuracy"] = (t.judged, t.correct / t.judged, ab_stats.rate_variance(t.correct, t.judged))
    moments = {"latency_ms": t.latency_ms, **{f"outcome:{n}": m for n, m in t.outcomes.items()}}
    for metric, m in moments.items():
        if m.n:
            out[metric] = (m.n, m.total / m.n, ab_stats.sample_variance(m.n, m.total, m.squares))
    return out


def _metrics(t: ArmTally, confidence: float) -> tuple[ArmMetric, ...]:
    out = [_rate("error_rate", t.stats.errors, t.stats.requests, confidence),
           _mean("latency_ms", t.latency_ms, confidence),
           _rate("accuracy", t.correct, t.judged, confidence)]
    out += [_mean(f"outcome:{n}", m, confidence) for n, m in sorted(t.outcomes.items())]
    return tuple(out)


def _percentile(t: ArmTally, q: float) -> float | None:
    return t.stats.percentile_ms(q) if t.stats.requests else None


def build(model: str, test: Rollout, totals: dict[TallyKey, ArmTally], observed: dict[str, int],
          split_since: str, *, alpha: float = 0.05) -> AbReport:
    """The report of ``test`` from its tallies since it began (``totals``) and the units
    each arm has seen since its split last changed (``observed``: users, or requests when
    the test has no ``--by`` key), for the sample-ratio check."""
    labels = [label for label, _ in test.arms]
    owned = shares(test.segments)
    split = {label: owned.get(label, 0) / UNITS for label in labels}
    keyed = {label: totals.get((label, True), ArmTally()) for label in labels}
    arms = tuple(ArmReport(label, version, split[label], keyed[label].stats.requests,
                           totals.get((label, False), ArmTally()).stats.requests,
                           _percentile(keyed[label], 0.5), _percentile(keyed[label], 0.99),
                           _metrics(keyed[label], 1 - alpha))
                 for label, version in test.arms)
    observed = {label: observed.get(label, 0) for label in labels}
    check = ab_stats.sample_ratio(list(observed.values()), list(split.values()))
    srm = SampleRatio(split_since, observed, split, check.chi2, check.p_value, check.mismatch)
    control = labels[0]
    base = _observations(keyed[control])
    comparisons = []
    for label in labels[1:]:
        for metric, (n_b, mean_b, var_b) in _observations(keyed[label]).items():
            if metric not in base:
                continue
            n_a, mean_a, var_a = base[metric]
            seq = ab_stats.msprt(n_a, mean_a, var_a, n_b, mean_b, var_b, alpha=alpha)
            comparisons.append(ArmComparison(metric, label, control, seq.difference, seq.low,
                                          seq.high, seq.p_value, seq.significant))
    return AbReport(model, test.seed, test.phase, test.by, control, alpha, arms, srm,
                    tuple(comparisons))


def report(db: Database, name: str, *, alpha: float = 0.05) -> AbReport:
    """The report of model ``name``'s latest A/B/n test, running or not."""
    events = [e for e in history(db, name) if e.state.rollout and e.state.rollout.arms]
    if not events:
        raise RolloutStateError(f"{name} has had no A/B test", name=name, action="report",
                                hint=f"modelkeep deploy {name} --ab A=VERSION,B=VERSION --split 50/50")
    test = events[-1].state.rollout
    assert test is not None
    split_since = max(e.at for e in events  # the split the sample-ratio check holds it to
                      if e.state.rollout and e.state.rollout.seed == test.seed
                      and e.action in ("ab-start", "ab-split"))
    if test.by:
        observed = users_since(db, test.seed, split_since)
    else:  # each request is drawn afresh: requests are the units
        recent = tallies_since(db, name, test.seed, split_since)
        observed = {arm: t.stats.requests for (arm, keyed), t in recent.items() if keyed}
    return build(name, test, tallies_since(db, name, test.seed), observed, split_since,
                 alpha=alpha)
