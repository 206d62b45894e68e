"""Routing is a pure function of (deployment, request key): sticky, proportional, and moving as
few users as possible when the split changes (property tests over many keys)."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelkeep.gateway.routing import pick, request_key, route, unit_point
from modelkeep.registry.rollout import Deployment, Rollout

KEYS = [f"user-{i}" for i in range(4000)]
seeds = st.text(alphabet="0123456789abcdef", min_size=1, max_size=16)
shares = st.floats(min_value=0.0, max_value=1.0)


def _tolerance(p: float, n: int) -> float:
    return 5 * math.sqrt(max(p * (1 - p), 1e-4) / n) + 1e-3  # five standard errors


@given(seed=seeds, key=st.text(max_size=40))
@settings(max_examples=200)
def test_a_key_always_lands_on_the_same_point(seed, key):
    assert unit_point(seed, key) == unit_point(seed, key)
    assert 0.0 <= unit_point(seed, key) < 1.0


def test_the_point_is_the_same_in_another_process():
    """Every gateway process must route a user alike: no per-process hash randomisation."""
    code = ("from modelkeep.gateway.routing import unit_point; "
            "print(repr([unit_point('seed', f'user-{i}') for i in range(50)]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == repr([unit_point("seed", f"user-{i}") for i in range(50)])


@given(seed=seeds, weights=st.lists(st.floats(min_value=0.05, max_value=10), min_size=2, max_size=4))
@settings(max_examples=30, deadline=None)
def test_arms_get_their_share_of_keys(seed, weights):
    arms = [(f"arm{i}", w) for i, w in enumerate(weights)]
    counts = dict.fromkeys([name for name, _ in arms], 0)
    for key in KEYS:
        counts[pick(arms, unit_point(seed, key))] += 1
    total = sum(weights)
    for name, weight in arms:
        share = weight / total
        assert abs(counts[name] / len(KEYS) - share) < _tolerance(share, len(KEYS)), (name, counts)


@given(seed=seeds, before=shares, after=shares)
@settings(max_examples=40, deadline=None)
def test_changing_the_split_moves_only_the_users_between_the_boundaries(seed, before, after):
    old = [("a", 1 - before), ("b", before)]
    new = [("a", 1 - after), ("b", after)]
    if not any(w > 0 for _, w in old) or not any(w > 0 for _, w in new):
        return
    moved = 0
    for key in KEYS:
        point = unit_point(seed, key)
        was, now = pick(old, point), pick(new, point)
        if was != now:
            moved += 1
            low, high = sorted((1 - before, 1 - after))
            assert low <= point < high or math.isclose(point, high)  # only at the boundary
            assert now == ("b" if after > before else "a")  # all in the direction of growth
    assert abs(moved / len(KEYS) - abs(after - before)) < _tolerance(abs(after - before), len(KEYS))


@given(seed=seeds)
@settings(max_examples=20, deadline=None)
def test_a_user_on_the_candidate_stays_there_as_the_canary_grows(seed):
    steps = (5, 25, 50, 100)
    on_candidate: set[str] = set()
    for step in range(len(steps) - 1):
        d = Deployment("m", "1.0.0", (), Rollout("2.0.0", "canary", steps, step, seed=seed))
        now = {k for k in KEYS[:1500] if route(d, k).version == "2.0.0"}
        assert on_candidate <= now
        assert abs(len(now) / 1500 - steps[step] / 100) < _tolerance(steps[step] / 100, 1500)
        on_candidate = now


def test_different_seeds_assign_users_independently():
    d1 = Deployment("m", "1.0.0", (), Rollout("2.0.0", "canary", (50, 100), seed="one"))
    d2 = Deployment("m", "1.0.0", (), Rollout("2.0.0", "canary", (50, 100), seed="two"))
    same = sum(route(d1, k).version == route(d2, k).version for k in KEYS)
    assert abs(same / len(KEYS) - 0.5) < _tolerance(0.5, len(KEYS))


@given(seed=seeds, percent=st.floats(min_value=1, max_value=100))
@settings(max_examples=20, deadline=None)
def test_shadow_samples_its_percent_and_the_stable_version_answers(seed, percent):
    d = Deployment("m", "1.0.0", (), Rollout("2.0.0", "shadow", shadow_percent=percent, seed=seed))
    routes = [route(d, k) for k in KEYS]
    assert {r.version for r in routes} == {"1.0.0"}
    copied = sum(r.shadow == "2.0.0" for r in routes) / len(KEYS)
    assert abs(copied - percent / 100) < _tolerance(percent / 100, len(KEYS))


@pytest.mark.parametrize("rollout", [None, Rollout("2.0.0", "aborted"), Rollout("2.0.0", "promoted")])
def test_without_a_running_rollout_the_stable_version_answers_everyone(rollout):
    d = Deployment("m", "1.0.0", (), rollout)
    assert {route(d, k).version for k in KEYS[:200]} == {"1.0.0"}
    assert {route(d, k).shadow for k in KEYS[:200]} == {None}


def test_a_paused_canary_keeps_its_split():
    running = Rollout("2.0.0", "canary", (5, 25, 50, 100), 1, seed="s")
    paused = Rollout("2.0.0", "canary", (5, 25, 50, 100), 1, paused=True, seed="s")
    a, b = Deployment("m", "1.0.0", (), running), Deployment("m", "1.0.0", (), paused)
    assert [route(a, k) for k in KEYS[:500]] == [route(b, k) for k in KEYS[:500]]


def test_the_request_key_is_the_named_header_else_the_request_id():
    assert request_key("header:X-User-Id", {"x-user-id": "alice"}, "r1") == ("alice", True)
    assert request_key("header:X-User-Id", {}, "r1") == ("r1", False)
    assert request_key(None, {"x-user-id": "alice"}, "r1") == ("r1", False)


def test_pick_refuses_arms_without_weight():
    with pytest.raises(ValueError):
        pick([("a", 0.0), ("b", 0.0)], 0.5)
    assert pick([("a", 0.0), ("b", 1.0)], 0.0) == "b"
    assert pick([("a", 1.0), ("b", 1.0)], 0.999999999999) == "b"
