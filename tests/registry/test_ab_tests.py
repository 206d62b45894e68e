"""A/B/n tests in the keep's database (SQLite and PostgreSQL): start, split, end with a winner,
the refusals (nothing appended), and the report summed from several gateways' tallies."""

from __future__ import annotations

import pytest
from support import pass_validation

from modelkeep.errors import (
    InvalidInputError,
    RolloutStateError,
    ValidationRequiredError,
    VersionNotFoundError,
)
from modelkeep.gateway.routing import route
from modelkeep.registry.ab_tally import ArmTally, Moments
from modelkeep.registry.serving import VersionStats, bucket_of


@pytest.fixture
def three(any_keep, make_model, tmp_path):
    folder = make_model(tmp_path / "m", b"one")
    for weights in (b"one", b"two", b"three"):
        make_model(folder, weights)
        any_keep.register("m", folder)
    pass_validation(any_keep, "m@1.0.0", "m@1.0.1", "m@1.0.2")  # deploys need a validation
    any_keep.deploy("m@1.0.0")
    return any_keep


def test_an_ab_test_from_start_to_winner(three):
    keep = three
    started = keep.start_ab_test("m", "A=1.0.0,B=1.0.1,C=1.0.2", "50/30/20", by="header:X-User-Id")
    state = started.state
    assert state.rollout.phase == "ab" and state.rollout.by == "header:X-User-Id"
    assert state.split() == pytest.approx({"1.0.0": 0.5, "1.0.1": 0.3, "1.0.2": 0.2})
    assert set(state.serving()) == {"1.0.0", "1.0.1", "1.0.2"}
    assert {route(state, f"u{i}").arm for i in range(200)} == {"A", "B", "C"}
    assert route(state, "u1") == route(keep.deployment("m"), "u1")  # the stored state routes alike
    # each arm serves with its version's configuration, kept while the test runs
    assert set(state.configs) == {"1.0.0", "1.0.1", "1.0.2"}
    moved = keep.split_ab_test("m", "70/30/0", reason="C is slow")
    assert set(moved.state.configs) == {"1.0.0", "1.0.1", "1.0.2"}
    assert moved.state.split() == pytest.approx({"1.0.0": 0.7, "1.0.1": 0.3})
    assert moved.state.step_started > started.state.step_started  # the SRM check starts again
    with pytest.raises(RolloutStateError, match="name the arm that won"):
        keep.change_deployment("m", "promote")
    ended = keep.end_ab_test("m", "B", reason="more revenue")
    assert ended.state.stable == "1.0.1" and ended.state.previous[0] == "1.0.0"
    assert ended.state.split() == {"1.0.1": 1.0} and ended.state.active_rollout is None
    assert [e.action for e in keep.deployment_history("m")] == ["deploy", "ab-start", "ab-split",
                                                                "ab-end"]
    keep.change_deployment("m", "rollback")
    assert keep.deployment("m").stable == "1.0.0"


def test_abort_sends_everyone_back_to_the_stable_version(three):
    keep = three
    keep.start_ab_test("m", "A=1.0.1,B=1.0.2")  # equal split, no sticky key
    assert keep.deployment("m").split() == {"1.0.1": 0.5, "1.0.2": 0.5}
    keep.change_deployment("m", "abort")
    assert keep.deployment("m").split() == {"1.0.0": 1.0}


def test_an_ab_test_on_a_model_never_deployed_makes_the_control_stable(any_keep, make_model, tmp_path):
    folder = make_model(tmp_path / "n", b"one")
    any_keep.register("n", folder)
    make_model(folder, b"two")
    any_keep.register("n", folder)
    pass_validation(any_keep, "n@1.0.0", "n@1.0.1")
    state = any_keep.start_ab_test("n", "A=1.0.0,B=1.0.1", "90/10").state
    assert state.stable == "1.0.0"
    any_keep.change_deployment("n", "abort")
    assert any_keep.deployment("n").split() == {"1.0.0": 1.0}


def test_every_arm_but_the_stable_version_needs_a_passed_validation(any_keep, make_model,
                                                                     tmp_path):
    folder = make_model(tmp_path / "v", b"one")
    for weights in (b"one", b"two", b"three"):
        make_model(folder, weights)
        any_keep.register("v", folder)
    any_keep.deploy("v@1.0.0", force=True, reason="serving before validations existed")
    pass_validation(any_keep, "v@1.0.1")
    revision = any_keep.deployment_revision()
    with pytest.raises(ValidationRequiredError, match="cannot deploy v@1.0.2: it has never been validated"):
        any_keep.start_ab_test("v", "A=1.0.0,B=1.0.1,C=1.0.2")
    with pytest.raises(InvalidInputError, match="needs a --reason"):
        any_keep.start_ab_test("v", "A=1.0.0,B=1.0.2", force=True)
    assert any_keep.deployment_revision() == revision  # nothing appended
    # the stable control (forced in earlier) and a validated arm need nothing more
    started = any_keep.start_ab_test("v", "A=1.0.0,B=1.0.1")
    assert started.reason == "" and started.state.split() == {"1.0.0": 0.5, "1.0.1": 0.5}
    any_keep.change_deployment("v", "abort")
    forced = any_keep.start_ab_test("v", "A=1.0.0,B=1.0.2", force=True, reason="a quick look")
    assert forced.reason == "[forced] a quick look"
    assert any_keep.deployment_history("v")[-1].reason == "[forced] a quick look"
    # nor does a stable version a rollback returns to (1.0.0, forced in, after 1.0.1 took over)
    any_keep.change_deployment("v", "abort")
    any_keep.deploy("v@1.0.1")
    assert any_keep.start_ab_test("v", "A=1.0.0,B=1.0.1").state.stable == "1.0.1"


@pytest.mark.parametrize("call, error, fragment", [
    (lambda k: k.start_ab_test("m", "A=1.0.0,B=9.9.9"), VersionNotFoundError, "9.9.9"),
    (lambda k: k.start_ab_test("m", "A=1.0.0,B=1.0.1", "60/30"), InvalidInputError,
     "adds up to 90, not 100"),
    (lambda k: k.start_ab_test("m", "A=1.0.0,B=1.0.1", "50/25/25"), InvalidInputError,
     "3 parts for 2 arms"),
    (lambda k: k.start_ab_test("m", "A=1.0.0,B=1.0.1", by="header:a b"), InvalidInputError,
     "is not header:NAME"),
    (lambda k: k.split_ab_test("m", "50/50"), RolloutStateError, "no A/B test is running"),
    (lambda k: k.end_ab_test("m", "B"), RolloutStateError, "no A/B test is running"),
    (lambda k: k.ab_report("m"), RolloutStateError, "m has had no A/B test"),
])
def test_bad_requests_are_refused_and_append_nothing(three, call, error, fragment):
    revision = three.deployment_revision()
    with pytest.raises(error, match=fragment):
        call(three)
    assert three.deployment_revision() == revision


def test_a_second_rollout_while_a_test_runs_is_refused_both_ways(three):
    keep = three
    keep.start_ab_test("m", "A=1.0.0,B=1.0.1")
    revision = keep.deployment_revision()
    for call in (lambda: keep.deploy("m@1.0.2", canary=True), lambda: keep.deploy("m@1.0.2"),
                 lambda: keep.start_ab_test("m", "A=1.0.0,B=1.0.2")):
        with pytest.raises(RolloutStateError, match="already running|is running"):
            call()
    with pytest.raises(InvalidInputError, match="no arm 'Z'"):
        keep.end_ab_test("m", "Z")
    with pytest.raises(InvalidInputError, match="3 parts for 2 arms"):
        keep.split_ab_test("m", "50/25/25")
    assert keep.deployment_revision() == revision
    keep.change_deployment("m", "abort")
    keep.deploy("m@1.0.2", canary=True)
    with pytest.raises(RolloutStateError, match="already running"):
        keep.start_ab_test("m", "A=1.0.0,B=1.0.1")


def _tally(requests: int, errors: int, ms: float, correct: int = 0, judged: int = 0,
           revenue: tuple[float, ...] = ()) -> ArmTally:
    latency = [0] * len(VersionStats().latency)
    latency[bucket_of(ms)] = requests
    moments = Moments()
    for value in revenue:
        moments = moments.plus(value)
    return ArmTally(VersionStats(requests, errors, 0, tuple(latency)),
                    Moments(requests, ms * requests, ms * ms * requests), judged, correct,
                    {"revenue": moments} if revenue else {})


def test_the_report_adds_up_every_gateways_tallies(three):
    keep = three
    state = keep.start_ab_test("m", "A=1.0.0,B=1.0.1", "50/50", by="header:X-User-Id").state
    test, since = state.rollout, state.step_started
    users = [(since, f"{arm}{i}", arm) for arm in "AB" for i in range(500)]
    for gateway in ("g1", "g2"):  # both saw every user: each counts once
        keep.record_ab_tallies("m", test.seed, {
            ("A", True): _tally(500, 5, 2.0, correct=40, judged=50, revenue=(1.0, 3.0) * 50),
            ("B", True): _tally(500, 50, 3.0, correct=45, judged=50, revenue=(2.0, 4.0) * 50),
            ("B", False): _tally(7, 0, 3.0)}, gateway, users)
    report = keep.ab_report("m")
    a, b = report.arms
    assert (a.arm, a.version, a.share, a.requests, a.unkeyed_requests) == ("A", "1.0.0", 0.5, 1000, 0)
    assert (b.requests, b.unkeyed_requests) == (1000, 14)
    metrics = {m.metric: m for m in b.metrics}
    assert metrics["error_rate"].value == 0.1 and metrics["error_rate"].low < 0.1 < metrics["error_rate"].high
    assert metrics["accuracy"].value == 0.9 and metrics["accuracy"].n == 100
    assert metrics["outcome:revenue"].value == 3.0 and metrics["outcome:revenue"].n == 200
    assert metrics["latency_ms"].value == pytest.approx(3.0)
    assert not report.sample_ratio.mismatch and report.sample_ratio.observed == {"A": 500, "B": 500}
    verdicts = {c.metric: c for c in report.comparisons}
    assert verdicts["error_rate"].significant and verdicts["error_rate"].difference == pytest.approx(0.09)
    assert verdicts["outcome:revenue"].significant
    assert not verdicts["accuracy"].significant  # 90% vs 80% over 100 labels each: not yet
    assert report.to_dict()["arms"][1]["metrics"][0]["metric"] == "error_rate"
    more = [(since, f"A-more-{i}", "A") for i in range(200)]
    keep.record_ab_tallies("m", test.seed, {}, "g3", more)
    assert keep.ab_report("m").sample_ratio.mismatch  # 700 users against 500 under 50/50
    keep.split_ab_test("m", "70/30")  # the check starts again under the new split
    assert keep.ab_report("m").sample_ratio.observed == {"A": 0, "B": 0}
