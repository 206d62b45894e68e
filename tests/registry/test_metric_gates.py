"""Metric gates (``--gate 'accuracy >= stable - 0.01'``): parsed by the validation policy's
parser and checked, judged on feedback and shadow agreement in the keep, in the phases they
apply to; and the move a shadow phase's verdicts ask for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from modelkeep.clock import to_iso
from modelkeep.errors import InvalidInputError
from modelkeep.registry.feedback import Feedback
from modelkeep.registry.gates import GatePolicy, GateResult, decide
from modelkeep.registry.metric_gates import Side, judge, judges, parse_gate
from modelkeep.registry.rollout import Rollout
from modelkeep.registry.serving import VersionStats


@pytest.mark.parametrize("text, fragment", [
    ("accuracy >= stable -", "expected a number, a metric name or '('"),
    ("accuracy", "expected a comparison"),
    ("1 < 2", "names no metric"),
    ("acuracy >= 0.9", "unknown metric 'acuracy'"),
    ("production.accuracy >= 0.9", "'production' is neither stable nor candidate"),
    ("@1.0.0.accuracy >= 0.9", "'@1.0.0' is neither stable nor candidate"),
    ("__import__('os').system('true') > 0", "unexpected"),
    ("accuracy >= " + "(" * 40 + "1" + ")" * 40, "nested more than 32 deep"),
    ("accuracy >= 0.9" + " " * 600, "longer than 500 characters"),
])
def test_bad_gates_are_one_line_naming_the_problem(text, fragment):
    with pytest.raises(InvalidInputError) as caught:
        GatePolicy(expressions=(text,))
    assert fragment in caught.value.message and "\n" not in caught.value.message


def test_unknown_metric_suggests_the_near_one():
    with pytest.raises(InvalidInputError, match="did you mean 'accuracy'"):
        parse_gate("acuracy >= 0.9")


def _side(short: dict | None = None, **values) -> Side:
    return Side(values, short or {})


def test_a_bare_stable_means_the_same_metric_of_the_stable_version():
    gate = parse_gate("accuracy >= stable - 0.01")
    assert judge(gate, _side(accuracy=0.93), _side(accuracy=0.935))[0] == "pass"
    verdict, left, right, detail = judge(gate, _side(accuracy=0.90), _side(accuracy=0.935))
    assert (verdict, left, right) == ("fail", 0.90, pytest.approx(0.925))
    assert detail == "0.9 >= 0.925"
    assert judge(parse_gate("value >= 0.95 * stable.value"), _side(value=9.0),
                 _side(value=10.0))[0] == "fail"
    assert judge(parse_gate("candidate.p99_ms - stable.p99_ms <= 5"), _side(p99_ms=8.0),
                 _side(p99_ms=4.0))[0] == "pass"


def test_a_gate_waits_for_enough_feedback_and_never_divides_by_zero():
    gate = parse_gate("accuracy >= stable - 0.01")
    verdict, *_, detail = judge(gate, _side({"accuracy": "has 3 of 30 judged labels"}),
                                _side(accuracy=0.9))
    assert verdict == "waiting" and detail == "the candidate has 3 of 30 judged labels"
    assert judge(gate, _side(accuracy=0.9), _side(accuracy=None))[3] == \
        "the stable version has no accuracy yet"
    assert judge(parse_gate("value / stable.value >= 1"), _side(value=1.0),
                 _side(value=0.0))[0] == "waiting"


def test_each_gate_judges_the_phases_it_applies_to():
    assert judges(parse_gate("agreement >= 0.99"), "shadow")
    assert not judges(parse_gate("agreement >= 0.99"), "canary")
    assert judges(parse_gate("accuracy >= stable"), "canary")
    assert not judges(parse_gate("accuracy >= stable"), "shadow")
    assert judges(parse_gate("p99_ms <= 50"), "shadow") and judges(parse_gate("p99_ms <= 50"), "canary")


def test_a_shadow_phase_moves_on_only_with_a_window():
    began = datetime(2026, 1, 1, tzinfo=UTC)
    held = [GateResult("error_rate", "pass", 0.0, 0.01, "")]
    failed = [GateResult("agreement >= 0.99", "fail", 0.5, 0.99, "0.5 >= 0.99")]
    test = Rollout(candidate="2", phase="shadow")
    assert decide(test, failed, to_iso(began), began + timedelta(days=9)) is None  # by hand only
    watched = Rollout(candidate="2", phase="shadow", shadow_window=60, window=0)
    assert decide(watched, held, to_iso(began), began + timedelta(seconds=30)) is None
    move = decide(watched, held, to_iso(began), began + timedelta(seconds=61))
    assert move == ("promote", "gates held for the 60 s window of the shadow phase")
    assert decide(watched, failed, to_iso(began), began)[0] == "abort"
    blue_green = Rollout(candidate="2", phase="blue-green")
    assert decide(blue_green, held, to_iso(began), began + timedelta(days=9)) is None


@pytest.fixture
def canary(validated_pair):
    any_keep = validated_pair
    any_keep.deploy("m@1.0.0")
    any_keep.deploy("m@1.0.1", canary=True, gates=GatePolicy(
        min_requests=2, min_feedback=4,
        expressions=("accuracy >= stable - 0.01", "value >= 0.9 * stable.value",
                     "agreement >= 0.99")))
    return any_keep


def _labels(version: str, right: int, wrong: int, value: float) -> list[Feedback]:
    return [Feedback(version, f"{version}-{i}", "label", value, i < right)
            for i in range(right + wrong)]


def test_accuracy_and_outcome_gates_judge_a_canary_from_the_keeps_feedback(canary):
    keep = canary
    gates = {g.gate: g for g in keep.deployment_gates("m")}
    assert "agreement >= 0.99" not in gates  # a shadow gate: not judged in a canary step
    assert gates["accuracy >= stable - 0.01"].verdict == "waiting"
    keep.record_feedback("m", _labels("1.0.0", 9, 1, 10.0) + _labels("1.0.1", 7, 3, 9.5))
    stats = {"1.0.0": VersionStats(requests=5), "1.0.1": VersionStats(requests=5)}
    keep.record_serving_stats("m", stats, "g")
    gates = {g.gate: g for g in keep.deployment_gates("m")}
    accuracy = gates["accuracy >= stable - 0.01"]
    assert (accuracy.verdict, accuracy.value, accuracy.limit) == ("fail", 0.7, pytest.approx(0.89))
    assert gates["value >= 0.9 * stable.value"].verdict == "pass"  # 9.5 >= 9.0
    assert gates["error_rate"].verdict == "pass"
    assert keep.deployment("m").rollout.gates.expressions[0] == "accuracy >= stable - 0.01"
