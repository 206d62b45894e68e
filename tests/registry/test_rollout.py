"""The rollout state machine, pure: every transition from every state it may or may not take."""

from __future__ import annotations

import pytest

from modelkeep.errors import InvalidInputError, RolloutStateError
from modelkeep.registry import rollout as rm
from modelkeep.registry.rollout import Deployment, Rollout


def _running(**changes) -> Deployment:
    d = rm.deploy(Deployment("m"), "1.0.0")
    return rm.start(d, "2.0.0", seed="s", **changes)


def test_first_deploy_serves_everything_and_a_direct_switch_remembers_the_old_stable():
    d = rm.deploy(Deployment("m"), "1.0.0")
    assert d.split() == {"1.0.0": 1.0} and d.previous == ()
    d = rm.deploy(d, "1.1.0")
    assert d.stable == "1.1.0" and d.previous == ("1.0.0",)


def test_a_canary_walks_its_steps_to_promoted():
    d = _running(steps=(5, 25, 50, 100))
    shares = [d.split()["2.0.0"]]
    while d.active_rollout is not None:
        d = rm.promote(d)
        shares.append(d.split().get("2.0.0", 0.0))
    assert shares == [0.05, 0.25, 0.5, 1.0]
    assert d.stable == "2.0.0" and d.previous == ("1.0.0",) and d.rollout.phase == "promoted"


def test_a_shadow_phase_comes_first_and_takes_no_live_traffic():
    d = _running(shadow=True, shadow_percent=10)
    assert d.rollout.phase == "shadow" and d.split() == {"1.0.0": 1.0}
    d = rm.promote(d)
    assert d.rollout.phase == "canary" and d.split()["2.0.0"] == 0.05


def test_promote_full_skips_the_remaining_steps():
    d = rm.promote(_running(shadow=True), full=True)
    assert d.stable == "2.0.0" and d.active_rollout is None


def test_pause_holds_the_split_and_refuses_promote_until_resumed():
    d = rm.pause(rm.promote(_running()))
    assert d.split()["2.0.0"] == 0.25 and d.rollout.paused
    with pytest.raises(RolloutStateError, match="paused"):
        rm.promote(d)
    with pytest.raises(RolloutStateError, match="already paused"):
        rm.pause(d)
    d = rm.resume(d)
    with pytest.raises(RolloutStateError, match="not paused"):
        rm.resume(d)
    assert rm.promote(d).split()["2.0.0"] == 0.5


def test_abort_returns_all_traffic_to_stable():
    d = rm.abort(rm.pause(rm.promote(_running())))
    assert d.split() == {"1.0.0": 1.0} and d.rollout.phase == "aborted" and d.stable == "1.0.0"
    for move in (rm.promote, rm.pause, rm.resume, rm.abort):
        with pytest.raises(RolloutStateError, match="no rollout is running"):
            move(d)


def test_rollback_aborts_a_running_rollout_and_otherwise_goes_to_the_previous_stable():
    d = rm.rollback(_running())
    assert d.stable == "1.0.0" and d.rollout.phase == "aborted"
    promoted = rm.promote(_running(), full=True)
    back = rm.rollback(promoted)
    assert back.stable == "1.0.0" and back.split() == {"1.0.0": 1.0} and back.rollout is None
    with pytest.raises(RolloutStateError, match="only stable version"):
        rm.rollback(back)
    with pytest.raises(RolloutStateError, match="nothing is deployed"):
        rm.rollback(Deployment("m"))


def test_a_second_rollout_or_a_direct_deploy_during_one_is_refused():
    d = _running()
    with pytest.raises(RolloutStateError, match="already running"):
        rm.start(d, "3.0.0", seed="t")
    with pytest.raises(RolloutStateError, match="rollout to 2.0.0 is running"):
        rm.deploy(d, "3.0.0")


def test_refusals_name_the_state():
    with pytest.raises(RolloutStateError, match="no stable version"):
        rm.start(Deployment("m"), "1.0.0", seed="s")
    d = rm.deploy(Deployment("m"), "1.0.0")
    with pytest.raises(RolloutStateError, match="already the stable version"):
        rm.start(d, "1.0.0", seed="s")
    with pytest.raises(RolloutStateError, match="already the stable version"):
        rm.deploy(d, "1.0.0")


@pytest.mark.parametrize("steps", [(), (0, 100), (5, 50), (50, 25, 100), (5, 5, 100), (5, 101)])
def test_bad_steps_are_refused(steps):
    with pytest.raises(InvalidInputError, match="not rising percents ending at 100"):
        _running(steps=steps)


@pytest.mark.parametrize("by", ["body:x", "cookie:", "header:", "header:X User", "header:a;b", ""])
def test_bad_keys_are_refused(by):
    with pytest.raises(InvalidInputError, match="is not header:NAME"):
        rm.check_key(by)


def test_the_gateway_keeps_the_candidate_and_three_stable_versions_loaded():
    d = Deployment("m")
    for v in ("1.0.0", "1.1.0", "1.2.0", "1.3.0"):
        d = rm.deploy(d, v)
    assert d.serving() == ["1.3.0", "1.2.0", "1.1.0"]
    d = rm.start(d, "2.0.0", seed="s")
    assert d.serving() == ["2.0.0", "1.3.0", "1.2.0", "1.1.0"]


def test_the_state_survives_its_json_form():
    d = rm.pause(rm.promote(_running(shadow=True, shadow_percent=12.5, by="header:X-User-Id")))
    assert Deployment.from_dict(d.to_dict()) == d
    assert Rollout.from_dict(d.rollout.to_dict()) == d.rollout


# -- blue-green, shadow windows and tolerances (g-shadow) ---------------------------------------


def test_blue_green_takes_no_traffic_until_it_switches_all_at_once():
    d = _running(blue_green=True)
    assert d.rollout.phase == "blue-green" and d.split() == {"1.0.0": 1.0}
    assert d.serving() == ["2.0.0", "1.0.0"]  # green is loaded beside blue
    d = rm.promote(d)
    assert d.rollout.phase == "promoted" and d.split() == {"2.0.0": 1.0}
    assert rm.rollback(d).split() == {"1.0.0": 1.0}
    assert rm.abort(_running(blue_green=True)).split() == {"1.0.0": 1.0}


@pytest.mark.parametrize("changes", [
    {"blue_green": True, "shadow": True},
    {"shadow_window": -1.0},
    {"shadow_window": float("inf")},
    {"tolerance": -0.1},
    {"tolerance": float("nan")},
])
def test_bad_plans_are_refused(changes):
    with pytest.raises(InvalidInputError):
        _running(**changes)


def test_a_plan_survives_its_stored_form_and_older_states_still_load():
    d = _running(shadow=True, shadow_window=3600.0, tolerance=1e-6)
    back = Rollout.from_dict(d.rollout.to_dict())
    assert back == d.rollout and back.shadow_window == 3600.0 and back.tolerance == 1e-6
    old = {k: v for k, v in d.rollout.to_dict().items() if k not in ("shadow_window", "tolerance")}
    assert Rollout.from_dict(old).shadow_window == 0.0
