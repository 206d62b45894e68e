"""Deployments in the keep's database (SQLite and PostgreSQL): every change appended with the
state it reached, read back by every process, refused changes leaving nothing behind."""

from __future__ import annotations

import threading

import pytest

from modelkeep.errors import (
    InvalidInputError,
    ModelNotFoundError,
    RolloutStateError,
    VersionNotFoundError,
)
from modelkeep.keep import Keep
from modelkeep.registry.gates import GatePolicy


@pytest.fixture
def two_versions(validated_pair):
    return validated_pair


def test_a_canary_rollout_is_recorded_step_by_step(two_versions):
    keep = two_versions
    assert keep.deployment("m").stable is None and keep.deployment_revision() == 0
    keep.deploy("m@1.0.0")
    started = keep.deploy("m@1.0.1", canary=True, steps=(10, 100), by="header:X-User-Id",
                          reason="new weights")
    assert started.state.split() == {"1.0.0": 0.9, "1.0.1": pytest.approx(0.1)}
    assert started.state.rollout.seed and started.state.rollout.by == "header:X-User-Id"
    keep.change_deployment("m", "promote")
    assert keep.deployment("m").stable == "1.0.1"
    history = keep.deployment_history("m")
    assert [e.action for e in history] == ["deploy", "start", "promote"]
    assert history[1].reason == "new weights" and history[1].author == keep.author
    assert keep.deployment_revision() == history[-1].revision
    assert [d.model for d in keep.deployments()] == ["m"]


def test_another_process_reads_the_same_state(two_versions):
    keep = two_versions
    keep.deploy("m@1.0.0")
    keep.deploy("m@1.0.1", canary=True)
    other = Keep(keep.settings)
    try:
        assert other.deployment("m") == keep.deployment("m")
        assert other.deployments()[0].rollout.seed == keep.deployment("m").rollout.seed
    finally:
        other.close()


def test_a_refused_change_appends_nothing(two_versions):
    keep = two_versions
    keep.deploy("m@1.0.0")
    revision = keep.deployment_revision()
    with pytest.raises(RolloutStateError):
        keep.change_deployment("m", "promote")
    with pytest.raises(RolloutStateError):
        keep.change_deployment("m", "rollback")
    with pytest.raises(VersionNotFoundError):
        keep.deploy("m@9.9.9")
    with pytest.raises(ModelNotFoundError):
        keep.deploy("nope@1.0.0")
    with pytest.raises(InvalidInputError, match="--canary"):
        keep.deploy("m@1.0.1", by="header:X-User-Id")
    with pytest.raises(InvalidInputError, match="unknown deployment action"):
        keep.change_deployment("m", "explode")
    assert keep.deployment_revision() == revision and len(keep.deployment_history("m")) == 1


def test_rollback_after_a_full_promotion_restores_the_stable_version(two_versions):
    keep = two_versions
    keep.deploy("m@1.0.0")
    keep.deploy("m@1.0.1", canary=True)
    keep.change_deployment("m", "promote-full")
    event = keep.change_deployment("m", "rollback", reason="p99 doubled")
    assert event.state.split() == {"1.0.0": 1.0}
    assert keep.deployment("m").rollout is None


def test_the_history_cannot_be_rewritten(two_versions):
    keep = two_versions
    keep.deploy("m@1.0.0")
    with pytest.raises(Exception, match="append-only"), keep.db.write():
        keep.db.execute("UPDATE deployment_events SET action = 'forged'")
    with pytest.raises(Exception, match="append-only"), keep.db.write():
        keep.db.execute("DELETE FROM deployment_events")
    assert [e.action for e in keep.deployment_history("m")] == ["deploy"]


def test_concurrent_rollouts_start_once(two_versions):
    """Two commands at once read-then-append under one lock: one rollout starts, one is refused."""
    keep = two_versions
    keep.deploy("m@1.0.0")
    outcomes: list[str] = []

    def start() -> None:
        k = Keep(keep.settings)
        try:
            k.deploy("m@1.0.1", canary=True)
            outcomes.append("started")
        except RolloutStateError:
            outcomes.append("refused")
        finally:
            k.close()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused", "started"]
    assert [e.action for e in keep.deployment_history("m")] == ["deploy", "start"]


def test_serving_stats_of_every_gateway_add_up_since_the_step_began(two_versions):
    from modelkeep.gateway.meter import Meter

    keep = two_versions
    keep.deploy("m@1.0.0")
    a, b = Meter(), Meter()
    for _ in range(3):
        a.record("m@1.0.0", 0.001)
    b.record("m@1.0.0", 0.002, error=True)
    keep.record_serving_stats("m", {"1.0.0": a.take()["m@1.0.0"]}, "gw-a")
    event = keep.deploy("m@1.0.1", canary=True, gates=GatePolicy(min_requests=2))
    keep.record_serving_stats("m", {"1.0.0": b.take()["m@1.0.0"]}, "gw-b")
    everything = keep.serving_stats("m")
    assert (everything["1.0.0"].requests, everything["1.0.0"].errors) == (4, 1)
    this_step = keep.serving_stats("m", since=event.state.step_started)
    assert this_step["1.0.0"].requests == 1 and this_step["1.0.1"].requests == 0
    gates = keep.deployment_gates("m")
    assert [g.verdict for g in gates] == ["waiting", "waiting"]


def test_a_move_judged_on_an_old_revision_is_refused(two_versions):
    keep = two_versions
    keep.deploy("m@1.0.0")
    started = keep.deploy("m@1.0.1", canary=True)
    keep.change_deployment("m", "promote", expect_revision=started.revision)
    with pytest.raises(RolloutStateError, match="changed meanwhile"):
        keep.change_deployment("m", "promote", expect_revision=started.revision)
    assert [e.action for e in keep.deployment_history("m")] == ["deploy", "start", "promote"]


def test_feedback_is_summed_per_version(two_versions):
    from modelkeep.registry.feedback import Feedback

    keep = two_versions
    keep.deploy("m@1.0.0")
    keep.record_feedback("m", [Feedback("1.0.0", "r1", {"y": 1}, None, True),
                               Feedback("1.0.0", "r2", {"y": 0}, 3.0, False),
                               Feedback("1.0.0", "r3", None, 5.0, None)])
    summary = keep.feedback_summary("m")["1.0.0"]
    assert (summary.items, summary.judged, summary.correct, summary.accuracy) == (3, 2, 1, 0.5)
    assert summary.value_mean == 4.0
    assert summary.to_dict()["accuracy"] == 0.5
    # repeats of r1 and r3 (posted twice, or to two replicas) are kept but not counted again
    keep.record_feedback("m", [Feedback("1.0.0", "r1", {"y": 0}, 100.0, False)])
    keep.record_feedback("m", [Feedback("1.0.0", "r3", None, 100.0, None)])
    again = keep.feedback_summary("m")["1.0.0"]
    assert (again.items, again.judged, again.correct, again.value_mean) == (3, 2, 1, 4.0)
