"""Shadow tests, the shadow phase before a canary, and blue-green deploys, with a real
``modelkeep gateway`` process on loopback: the user never waits for the shadow nor sees its
errors, the report counts what the copies did, and the phases move by their gates."""

from __future__ import annotations

import time

import pytest
from gateway_process import GatewayProcess, register_python

from modelkeep.keep import Keep
from modelkeep.registry.gates import GatePolicy

pytestmark = pytest.mark.slow

STABLE = '''
def run(inputs):
    return {"doubled": [2 * v for v in inputs["x"]]}
'''
NOISY = '''
def run(inputs):  # agrees within 1e-6, never exactly
    return {"doubled": [2 * v + 1e-9 for v in inputs["x"]]}
'''
# these two misbehave only in the gateway (registering runs the example to infer a signature)
SLEEPY = '''
import os
import time


def run(inputs):
    time.sleep(2 if os.environ.get("TEST_IN_GATEWAY") else 0)
    return {"doubled": [2 * v for v in inputs["x"]]}
'''
RAISES = '''
import os


def run(inputs):
    if os.environ.get("TEST_IN_GATEWAY"):
        raise ValueError("the shadow is broken")
    return {"doubled": [2 * v for v in inputs["x"]]}
'''
CODE = {"stable": STABLE, "noisy": NOISY, "sleepy": SLEEPY, "raises": RAISES}
V: dict[str, str] = {}  # which version number each got (a change of output dtype bumps major)


@pytest.fixture(scope="module")
def keep(tmp_path_factory):
    root = tmp_path_factory.mktemp("shadow") / "project"
    k = Keep.init(root)
    for kind, code in CODE.items():
        V[kind] = register_python(k, "sh", root / "sh", code, {"x": [1, 2]})
    k.deploy(f"sh@{V['stable']}")
    yield k
    k.close()


@pytest.fixture(scope="module")
def gateway(keep):
    gw = GatewayProcess(keep.settings.root, "--timeout", "5", "--poll-interval", "0.1",
                        env={"TEST_IN_GATEWAY": "1"})
    gw.wait_ready()
    yield gw
    gw.stop()


@pytest.fixture
def shadowing(keep, gateway):
    """Start a rollout with ``keep.deploy(...)``; it is ended (abort) after the test."""
    yield keep, gateway
    if keep.deployment("sh").active_rollout is not None:
        keep.change_deployment("sh", "abort", "end of test")
    if keep.deployment("sh").stable != V["stable"]:
        keep.change_deployment("sh", "rollback", "end of test")


def _caught_up(gw: GatewayProcess, keep: Keep) -> None:
    revision = keep.deployment_revision()
    gw.wait_for(lambda: gw.client.get("/v1/models").json()["revision"] == revision)
    gw.wait_ready()


def _timed_requests(gw: GatewayProcess, n: int) -> list[float]:
    seconds = []
    for i in range(n):
        started = time.monotonic()
        response = gw.predict("sh", {"x": [i, 1]})
        seconds.append(time.monotonic() - started)
        assert response.status_code == 200, response.text
        assert response.json()["version"] == V["stable"]
        assert response.json()["outputs"] == {"doubled": [2 * i, 2]}
    return seconds


def _report_when(keep: Keep, gw: GatewayProcess, copies: int, tolerance: float = 0.0):
    gw.wait_for(lambda: keep.shadow_report("sh", tolerance).stats.copies >= copies, timeout=20)
    return keep.shadow_report("sh", tolerance)


def test_a_shadow_that_sleeps_2_s_changes_neither_the_time_nor_the_answer(shadowing):
    keep, gw = shadowing
    baseline = sorted(_timed_requests(gw, 20))
    keep.deploy(f"sh@{V['sleepy']}", shadow=True)
    _caught_up(gw, keep)
    seconds = _timed_requests(gw, 12)
    assert max(seconds) < 0.5  # never the shadow's 2 s
    assert sorted(seconds)[6] < baseline[10] + 0.05  # the median as without a shadow
    report = _report_when(keep, gw, 12)
    data = report.to_dict()
    assert data["copies"] == 12 and data["errors"] == 0 and data["agreement"] == 1.0
    assert data["latency"]["candidate"]["p50_ms"] > 1500  # the copies did sleep
    assert data["latency"]["stable"]["p99_ms"] < 200


def test_a_shadow_that_raises_is_counted_never_shown(shadowing):
    keep, gw = shadowing
    keep.deploy(f"sh@{V['raises']}", shadow=True)
    _caught_up(gw, keep)
    assert max(_timed_requests(gw, 30)) < 0.5
    report = _report_when(keep, gw, 30)
    assert (report.stats.copies, report.stats.errors, report.stats.compared) == (30, 30, 0)
    assert report.agreement is None and report.error_rate == 1.0
    samples = report.disagreements
    assert 0 < len(samples) <= 20 and all("the shadow is broken" in s.error for s in samples)
    assert all(len(s.inputs_hash) == 32 for s in samples)  # hashes only
    status = keep.deployment_gates("sh")  # a shadow test: judged, never moved by its gates
    assert {g.gate: g.verdict for g in status}["error_rate"] == "waiting"  # 30 < 100 requests
    assert keep.deployment("sh").rollout.phase == "shadow"


def test_a_sampled_shadow_copies_its_percent_and_agrees_within_the_tolerance(shadowing):
    keep, gw = shadowing
    keep.deploy(f"sh@{V['noisy']}", shadow=True, shadow_percent=50)
    _caught_up(gw, keep)
    _timed_requests(gw, 200)
    time.sleep(2.5)  # two reports of the counts
    report = keep.shadow_report("sh")
    assert 65 <= report.stats.copies <= 135  # 100 expected, 5 standard errors either side
    assert report.agreement == 0.0 and report.stats.compared == report.stats.copies
    assert keep.shadow_report("sh", tolerance=1e-6).agreement == 1.0
    assert keep.shadow_report("sh", tolerance=1e-12).agreement == 0.0
    assert report.stats.distances[0] == 0 and len(report.disagreements) == 20


def test_a_shadow_phase_moves_on_to_the_canary_steps_when_its_gates_held(shadowing):
    keep, gw = shadowing
    keep.deploy(f"sh@{V['noisy']}", canary=True, shadow=True, shadow_window=1.0, tolerance=1e-6,
                steps=(50, 100), window=0, gates=GatePolicy(min_requests=5,
                                                             expressions=("agreement >= 0.99",)))
    _caught_up(gw, keep)
    deadline = time.monotonic() + 15
    while keep.deployment("sh").rollout.phase == "shadow" and time.monotonic() < deadline:
        gw.predict("sh", {"x": [1]})
    state = keep.deployment("sh")
    assert state.rollout.phase == "canary" and state.split() == {V["stable"]: 0.5, V["noisy"]: 0.5}
    last = keep.deployment_history("sh")[-1]
    assert last.action == "promote" and "of the shadow phase" in last.reason


def test_a_shadow_phase_whose_gate_fails_aborts_by_itself(shadowing):
    keep, gw = shadowing
    keep.deploy(f"sh@{V['raises']}", canary=True, shadow=True, shadow_window=60,
                gates=GatePolicy(min_requests=5))
    _caught_up(gw, keep)
    deadline = time.monotonic() + 15
    while keep.deployment("sh").active_rollout is not None and time.monotonic() < deadline:
        assert gw.predict("sh", {"x": [1]}).status_code == 200
    last = keep.deployment_history("sh")[-1]
    assert last.action == "abort" and "gate error_rate failed" in last.reason


def test_blue_green_switches_once_loaded_and_rolls_back_within_a_second(shadowing):
    keep, gw = shadowing
    event = keep.deploy(f"sh@{V['noisy']}", blue_green=True)
    assert event.state.split() == {V["stable"]: 1.0}  # green takes nothing before it is validated
    gw.wait_for(lambda: keep.deployment("sh").stable == V["noisy"], timeout=10)
    last = keep.deployment_history("sh")[-1]
    assert last.action == "promote-full" and "answered its 1 example inputs" in last.reason
    _caught_up(gw, keep)
    assert {gw.predict("sh", {"x": [1]}).json()["version"] for _ in range(10)} == {V["noisy"]}
    started = time.monotonic()
    keep.change_deployment("sh", "rollback")
    gw.wait_for(lambda: gw.predict("sh", {"x": [1]}).json()["version"] == V["stable"], timeout=5)
    assert time.monotonic() - started < 1.0


def test_a_blue_green_whose_green_fails_its_example_is_aborted(shadowing):
    keep, gw = shadowing
    keep.deploy(f"sh@{V['raises']}", blue_green=True)
    gw.wait_for(lambda: keep.deployment("sh").active_rollout is None, timeout=10)
    state = keep.deployment("sh")
    assert state.rollout.phase == "aborted" and state.stable == V["stable"]
    reason = keep.deployment_history("sh")[-1].reason
    assert f"sh@{V['raises']} failed on an example input" in reason
    assert "ValueError: the shadow is broken" in reason


def test_an_accuracy_gate_fed_by_feedback_aborts_a_canary_that_answers_worse(shadowing):
    keep, gw = shadowing
    keep.deploy(f"sh@{V['noisy']}", canary=True, steps=(50, 100), window=0,
                gates=GatePolicy(min_requests=5, min_feedback=5,
                                 expressions=("accuracy >= stable - 0.01",)))
    _caught_up(gw, keep)
    deadline = time.monotonic() + 15
    i = 0
    while keep.deployment("sh").active_rollout is not None and time.monotonic() < deadline:
        i += 1
        answer = gw.predict("sh", {"x": [i]})
        assert answer.status_code == 200
        truth = {"doubled": [2 * i]}  # what the stable version answers; the candidate is off by 1e-9
        feedback = gw.client.post("/v1/feedback", json={"request_id": answer.json()["request_id"],
                                                        "label": truth})
        assert feedback.status_code == 202
        assert feedback.json()["correct"] is (answer.json()["version"] == V["stable"])
    last = keep.deployment_history("sh")[-1]
    assert last.action == "abort" and "accuracy >= stable - 0.01 failed: 0 >= 0.99" in last.reason
