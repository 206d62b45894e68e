"""The blue-green switch in one process: a green that loaded and answers its examples is
promoted once (at the revision judged), one that failed to load, raises or hangs is aborted
with the reason, and one still loading is left alone."""

from __future__ import annotations

import threading
import time

import pytest

from modelkeep.errors import RolloutStateError
from modelkeep.gateway.bluegreen import switch_ready
from modelkeep.gateway.pool import VersionPool
from modelkeep.registry.rollout import Deployment, Rollout

STATE = Deployment("m", stable="1", rollout=Rollout(candidate="2", phase="blue-green"), revision=7)


class Keep:
    def __init__(self, refuse: bool = False) -> None:
        self.moves: list[tuple] = []
        self.refuse = refuse

    def example_inputs(self, ref: str) -> list[object]:
        return [{"x": 1}, {"x": 2}]

    def change_deployment(self, name, action, reason="", *, expect_revision=None):
        if self.refuse:
            raise RolloutStateError("moved meanwhile")
        self.moves.append((name, action, reason, expect_revision))


class Green:
    ref = "m@2"

    def __init__(self, behaviour: str = "ok") -> None:
        self.behaviour = behaviour
        self.calls = 0

    def predict(self, inputs):
        self.calls += 1
        if self.behaviour == "raise":
            raise ValueError("bad weights")
        if self.behaviour == "hang":
            threading.Event().wait(30)
        return inputs


def _pool(model: Green | None) -> VersionPool:
    def load(ref: str) -> Green:
        if model is None:
            raise RuntimeError("missing file")
        return model
    pool = VersionPool(load)
    pool.sync(["m@2"])
    return pool


def test_a_green_that_answers_its_examples_is_switched_to_at_the_revision_judged():
    keep, green = Keep(), Green()
    assert switch_ready(keep, _pool(green), {"m": STATE})[0][1] == "promote-full"
    assert keep.moves == [("m", "promote-full", "blue-green: m@2 loaded and answered its 2 "
                                                "example inputs", 7)]
    assert green.calls == 2


@pytest.mark.parametrize("green, fragment", [
    (None, "m@2 failed to load: RuntimeError: missing file"),
    (Green("raise"), "m@2 failed on an example input: ValueError: bad weights"),
    (Green("hang"), "m@2 failed on an example input: TimeoutError: no answer within 0.2 s"),
])
def test_a_green_that_fails_is_aborted_with_the_reason(green, fragment):
    keep = Keep()
    started = time.monotonic()
    switch_ready(keep, _pool(green), {"m": STATE}, timeout=0.2)
    assert time.monotonic() - started < 2  # a hanging green holds nobody
    ((name, action, reason, revision),) = keep.moves
    assert (action, revision) == ("abort", 7) and fragment in reason


def test_a_green_still_loading_or_moved_by_someone_else_is_left_alone():
    keep = Keep()
    loading = VersionPool(lambda ref: Green())  # never synced: not tried yet
    assert switch_ready(keep, loading, {"m": STATE}) == [] and keep.moves == []
    assert switch_ready(Keep(refuse=True), _pool(Green()), {"m": STATE}) == []
    canary = Deployment("m", stable="1", rollout=Rollout(candidate="2", phase="canary"))
    assert switch_ready(keep, _pool(Green()), {"m": canary}) == [] and keep.moves == []
