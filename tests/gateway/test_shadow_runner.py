"""The shadow runner in one process: copies run on workers of their own, are compared with the
stable answer, and are dropped (and counted) when the workers are busy, never queued without
bound; the candidate's failures and slowness are counted, never raised."""

from __future__ import annotations

import threading
import time

from modelkeep.gateway.pool import VersionPool
from modelkeep.gateway.shadow import ShadowMeter, ShadowRunner
from modelkeep.registry.rollout import Rollout


class Model:
    def __init__(self, answer, gate: threading.Event | None = None, delay: float = 0.0) -> None:
        self.ref = "m@2"
        self.answer, self.gate, self.delay = answer, gate, delay

    def predict(self, inputs):
        if self.gate is not None:
            self.gate.wait(10)
        time.sleep(self.delay)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def _runner(model: Model, **kwargs) -> tuple[ShadowRunner, ShadowMeter]:
    pool = VersionPool(lambda ref: model)
    pool.sync(["m@2"])
    meter = ShadowMeter()
    return ShadowRunner(pool, meter, timeout=kwargs.pop("timeout", 5.0), **kwargs), meter


ROLLOUT = Rollout(candidate="2", phase="shadow", seed="seed", tolerance=0.01)


def _settle(runner: ShadowRunner) -> None:
    deadline = time.monotonic() + 10
    while runner._busy and time.monotonic() < deadline:
        time.sleep(0.01)


def test_copies_beyond_the_workers_and_backlog_are_dropped_without_waiting():
    gate = threading.Event()
    runner, meter = _runner(Model({"y": 1}, gate), threads=1, backlog=2)
    started = time.monotonic()
    for i in range(10):
        runner.send("m", "1", ROLLOUT, f"r{i}", {"x": i}, {"y": 1}, 0.001)
    assert time.monotonic() - started < 0.1  # send never waits for the candidate
    gate.set()
    _settle(runner)
    (batch,) = meter.take()["m"]
    assert (batch.stats.copies, batch.stats.dropped, batch.stats.compared) == (3, 7, 3)
    assert batch.stats.distances[0] == 3 and batch.samples == ()
    runner.close()


def test_failures_timeouts_and_disagreements_are_counted_and_sampled_with_hashes_only():
    runner, meter = _runner(Model(ValueError("broken")))
    runner.send("m", "1", ROLLOUT, "r1", {"x": 1}, {"y": 1}, 0.001)
    _settle(runner)
    (batch,) = meter.take()["m"]
    assert (batch.stats.errors, batch.stats.compared) == (1, 0)
    (sample,) = batch.samples
    assert sample.error == "ValueError: broken"
    assert sample.candidate_hash is None and len(sample.inputs_hash) == 32

    slow, meter = _runner(Model({"y": 1}, delay=0.2), timeout=0.05)
    slow.send("m", "1", ROLLOUT, "r2", {"x": 1}, {"y": 1}, 0.001)
    _settle(slow)
    (batch,) = meter.take()["m"]
    assert (batch.stats.errors, batch.stats.timeouts) == (1, 1)

    logged: list[tuple] = []
    near, meter = _runner(Model({"y": 1.005}), log_payload=lambda *a: logged.append(a))
    near.send("m", "1", ROLLOUT, "r3", {"x": 1}, {"y": 1}, 0.001)  # within the 0.01 tolerance
    near.send("m", "1", ROLLOUT, "r4", {"x": 1}, {"y": 2}, 0.001)  # not
    _settle(near)
    (batch,) = meter.take()["m"]
    assert batch.stats.compared == 2 and [s.request_id for s in batch.samples] == ["r4"]
    assert logged == [("m", "2", "r4", {"x": 1}, {"y": 1.005}, "")]  # payload logging on


def test_a_process_hands_on_at_most_twenty_disagreements_per_rollout():
    runner, meter = _runner(Model({"y": 0}), threads=2, backlog=100)
    for i in range(50):
        runner.send("m", "1", ROLLOUT, f"r{i}", {"x": i}, {"y": 1}, 0.001)
    _settle(runner)
    (batch,) = meter.take()["m"]
    assert batch.stats.compared == 50 and len(batch.samples) == 20
