"""Canary gates and the statistics they judge: histograms that add up, percentiles within the
bucket width, verdicts, and the move (abort, promote, none) a step's verdicts ask for."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelkeep.clock import to_iso
from modelkeep.errors import InvalidInputError
from modelkeep.gateway.meter import Meter
from modelkeep.registry.gates import GatePolicy, decide, evaluate, overall
from modelkeep.registry.rollout import Rollout
from modelkeep.registry.serving import VersionStats

latencies = st.lists(st.floats(min_value=0.06, max_value=50_000), min_size=1, max_size=300)


def _stats(ms: list[float], errors: int = 0, ref: str = "m@1") -> VersionStats:
    meter = Meter()
    for i, value in enumerate(ms):
        meter.record(ref, value / 1000, error=i < errors)
    return meter.take()[ref]


@given(values=latencies, q=st.sampled_from([0.5, 0.9, 0.99]))
@settings(max_examples=100, deadline=None)
def test_a_percentile_is_within_one_bucket_of_the_true_value(values, q):
    exact = sorted(values)[max(1, math.ceil(q * len(values))) - 1]
    read = _stats(values).percentile_ms(q)
    assert exact <= read * (1 + 1e-9) and read <= exact * 1.15 * (1 + 1e-9)


@given(a=latencies, b=latencies)
@settings(max_examples=50, deadline=None)
def test_stats_of_two_gateways_add_up_to_the_stats_of_both(a, b):
    assert _stats(a) + _stats(b) == _stats(a + b)
    assert VersionStats.from_record((_stats(a) + _stats(b)).to_record()) == _stats(a + b)


def test_the_meter_hands_over_each_count_once():
    meter = Meter()
    meter.record("m@1", 0.001)
    meter.record("m@1", 0.002, timeout=True)
    taken = meter.take()["m@1"]
    assert (taken.requests, taken.errors, taken.timeouts) == (2, 1, 1)
    assert meter.take() == {} and meter.totals()["m@1"].requests == 2


def test_too_few_requests_wait():
    results = evaluate(GatePolicy(min_requests=50), _stats([1.0] * 49), _stats([1.0] * 500))
    assert [r.verdict for r in results] == ["waiting", "waiting"] and overall(results) == "waiting"
    results = evaluate(GatePolicy(min_requests=50), _stats([1.0] * 60), _stats([1.0] * 10))
    assert [r.verdict for r in results] == ["pass", "waiting"]
    assert "the stable version has 10 of 50" in results[1].detail


def test_the_error_rate_gate_allows_the_stable_rate_plus_the_margin():
    stable = _stats([1.0] * 1000, errors=20)  # 2%
    policy = GatePolicy(max_error_rate=0.01, min_requests=100)
    assert evaluate(policy, _stats([1.0] * 100, errors=3), stable)[0].verdict == "pass"
    failed = evaluate(policy, _stats([1.0] * 100, errors=4), stable)[0]
    assert failed.verdict == "fail" and failed.limit == pytest.approx(0.03)
    assert "4.00% of 100 requests failed" in failed.detail


def test_the_p99_gate_compares_with_the_stable_version():
    stable = _stats([10.0] * 1000)
    policy = GatePolicy(max_p99_ratio=1.5, min_requests=100, p99_slack_ms=2.0)
    assert evaluate(policy, _stats([12.0] * 200), stable)[1].verdict == "pass"
    slow = evaluate(policy, _stats([10.0] * 190 + [40.0] * 10), stable)[1]
    assert slow.verdict == "fail" and slow.value > slow.limit


def test_the_p99_gate_ignores_differences_inside_the_slack():
    """0.2 ms against 0.1 ms is twice as slow and still noise."""
    policy = GatePolicy(max_p99_ratio=1.5, min_requests=10, p99_slack_ms=5.0)
    assert evaluate(policy, _stats([0.2] * 100), _stats([0.1] * 100))[1].verdict == "pass"
    assert evaluate(policy, _stats([7.0] * 100), _stats([0.1] * 100))[1].verdict == "fail"


@pytest.mark.parametrize("kwargs", [{"max_error_rate": -0.1}, {"max_error_rate": 2},
                                    {"max_p99_ratio": 0.5}, {"min_requests": 0},
                                    {"p99_slack_ms": -1.0}])
def test_bad_gate_limits_are_refused(kwargs):
    with pytest.raises(InvalidInputError, match="gate limits"):
        GatePolicy(**kwargs)


def test_the_move_a_step_asks_for():
    now = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    began = to_iso(now - timedelta(seconds=30))
    canary = Rollout("2.0.0", "canary", window=20)
    passing = evaluate(GatePolicy(min_requests=1), _stats([1.0] * 10), _stats([1.0] * 10))
    failing = evaluate(GatePolicy(min_requests=1), _stats([1.0] * 10, errors=5), _stats([1.0] * 10))
    assert decide(canary, passing, began, now) == ("promote", "gates held for the 20 s window")
    move = decide(canary, failing, began, now)
    assert move is not None and move[0] == "abort" and "error_rate failed" in move[1]
    assert decide(canary, passing, to_iso(now - timedelta(seconds=5)), now) is None  # too soon
    assert decide(Rollout("2.0.0", "canary", window=0), passing, began, now) is None  # by hand
    assert decide(Rollout("2.0.0", "canary", paused=True), failing, began, now) is None
    assert decide(Rollout("2.0.0", "shadow"), failing, began, now) is None
