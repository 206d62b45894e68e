"""Shadow test counts in the keep's database (SQLite and PostgreSQL): every gateway's counts
add up, at most 20 disagreements are kept per rollout, and the report reads the latest test."""

from __future__ import annotations

import math

import pytest
from support import pass_validation

from modelkeep.errors import InvalidInputError, RolloutStateError
from modelkeep.registry import agreement, serving
from modelkeep.registry.shadow_stats import Disagreement, ShadowBatch, ShadowStats


@pytest.fixture
def shadowed(validated_pair):
    any_keep = validated_pair
    any_keep.deploy("m@1.0.0")
    any_keep.deploy("m@1.0.1", shadow=True, shadow_percent=10)
    return any_keep


def _stats(exact: int, off: float, off_count: int, errors: int = 0) -> ShadowStats:
    distances = [0] * agreement.BUCKETS
    distances[0] = exact
    distances[agreement.bucket_of(off)] += off_count
    latency = [0] * serving.BUCKETS
    latency[serving.bucket_of(3.0)] = exact + off_count + errors
    compared = exact + off_count
    return ShadowStats(compared + errors, compared, errors, 0, 1, tuple(distances),
                       tuple(latency), tuple(latency))


def _sample(i: int, d: float | None = 0.5) -> Disagreement:
    return Disagreement(f"r{i}", d, "a" * 32, "b" * 32, None if d is None else "c" * 32,
                        None if d is not None else "ValueError: no")


def test_every_gateways_counts_add_up_and_twenty_samples_are_kept(shadowed):
    keep = shadowed
    seed = keep.deployment("m").rollout.seed
    first = ShadowBatch(seed, "1.0.0", "1.0.1", _stats(10, 0.004, 5),
                        tuple(_sample(i) for i in range(15)))
    second = ShadowBatch(seed, "1.0.0", "1.0.1", _stats(4, math.inf, 1, errors=2),
                         (*(_sample(i, math.inf) for i in range(15, 30)), _sample(99, None)))
    keep.record_shadow_stats("m", [first], "gateway-a")
    keep.record_shadow_stats("m", [second], "gateway-b")
    report = keep.shadow_report("m", tolerance=0.005)
    data = report.to_dict()
    assert (data["copies"], data["compared"], data["errors"], data["dropped"]) == (22, 20, 2, 2)
    assert (data["exact"], data["mismatched"], data["agreeing"]) == (14, 1, 19)
    assert data["agreement"] == pytest.approx(19 / 20)
    assert keep.shadow_report("m").agreement == pytest.approx(14 / 20)  # exact only
    assert [d.request_id for d in report.disagreements] == [f"r{i}" for i in range(20)]
    assert data["disagreements"][-1]["distance"] == "mismatch"  # JSON has no infinity
    assert data["latency"]["candidate"]["p50_ms"] == pytest.approx(3.0, rel=0.15)
    assert data["phase"] == "shadow" and data["candidate"] == "1.0.1" and data["stable"] == "1.0.0"


def test_the_report_follows_the_latest_shadow_test_also_once_it_ended(shadowed):
    keep = shadowed
    old_seed = keep.deployment("m").rollout.seed
    keep.record_shadow_stats("m", [ShadowBatch(old_seed, "1.0.0", "1.0.1", _stats(3, 0, 0))], "g")
    keep.change_deployment("m", "abort")
    assert keep.shadow_report("m").to_dict()["phase"] == "aborted"
    keep.deploy("m@1.0.1", shadow=True, tolerance=0.01)
    report = keep.shadow_report("m")
    assert report.rollout != old_seed and report.stats.copies == 0 and report.agreement is None
    assert report.tolerance == 0.01 and keep.shadow_report("m", 0).tolerance == 0


def test_a_model_without_a_shadow_test_and_a_bad_tolerance_are_refused(any_keep, make_model, tmp_path):
    any_keep.register("m", make_model(tmp_path / "m"))
    pass_validation(any_keep, "m@1.0.0")
    any_keep.deploy("m@1.0.0")
    with pytest.raises(RolloutStateError, match="no shadow test"):
        any_keep.shadow_report("m")
    with pytest.raises(InvalidInputError):
        any_keep.shadow_report("m", tolerance=-1)
    with pytest.raises(InvalidInputError):
        any_keep.shadow_report("m", tolerance=math.nan)


def test_stats_survive_their_stored_form():
    stats = _stats(7, 0.02, 3, errors=1)
    assert ShadowStats.from_record(stats.to_record()) == stats
    assert ShadowStats.from_record({"distances": {"9999": 5, "0": 2}}).distances[0] == 2
