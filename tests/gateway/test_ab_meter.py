"""A gateway's per-arm counts: which requests an arm counts (keyed or not), each user once per
split, feedback joined to the arm by request id or by the version it names, outcome values."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from modelkeep.gateway.ab_meter import ArmMeter, arm_of
from modelkeep.gateway.routing import Route, route
from modelkeep.registry import ab_rollout
from modelkeep.registry.ab_split import parse_split
from modelkeep.registry.feedback import Feedback
from modelkeep.registry.rollout import Deployment


def _request(user: str | None) -> Request:
    headers = [(b"x-user-id", user.encode())] if user else []
    return Request({"type": "http", "method": "POST", "headers": headers, "query_string": b""})


STATE = ab_rollout.start(Deployment("m", stable="1.0.0", step_started="t0"),
                         (("A", "1.0.0"), ("B", "1.1.0")), parse_split("50/50", "AB"),
                         seed="beef", by="header:X-User-Id")


class Sink:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def record_ab_tallies(self, name, test, tallies, gateway, users=()):
        self.calls.append((name, test, tallies, gateway, list(users)))


def test_keyed_requests_users_and_feedback_are_counted_per_arm():
    meter = ArmMeter()
    alice = arm_of(STATE, route(STATE, "alice"), _request("alice"), "r1")
    anonymous = arm_of(STATE, route(STATE, "r2"), _request(None), "r2")
    assert alice is not None and alice.keyed and alice.user and "alice" not in alice.user
    assert anonymous is not None and not anonymous.keyed and anonymous.user is None
    assert arm_of(STATE, Route("1.0.0", "stable"), _request("x"), "r3") is None  # a stand-in
    assert arm_of(Deployment("m", stable="1.0.0"), Route("1.0.0", "stable"), _request("x"), "r") is None
    for _ in range(3):
        meter.record(alice, 0.002)
    meter.record(alice, 0.010, error=True)
    meter.record(anonymous, 0.004)
    meter.remember("r1", alice)
    assert meter.feedback("m", Feedback(route(STATE, "alice").version, "r1", 1, 2.5, True),
                          {"revenue": 10.0}, STATE) == alice.arm
    other = "B" if alice.arm == "A" else "A"
    # not remembered here (another gateway answered): the arm serving the version it names
    named = dict(STATE.rollout.arms)[other]
    assert meter.feedback("m", Feedback(named, "elsewhere", None, None, None), {"revenue": 1.0},
                          STATE) == other
    assert meter.feedback("m", Feedback("9.9.9", "unknown", None, 1.0, None), {}, STATE) is None
    sink = Sink()
    meter.flush(sink, "gw")
    (name, test, tallies, gateway, users), = sink.calls
    assert (name, test, gateway) == ("m", "beef", "gw")
    mine = tallies[(alice.arm, True)]
    assert (mine.stats.requests, mine.stats.errors, mine.latency_ms.n) == (4, 1, 4)
    assert mine.latency_ms.total == pytest.approx(16.0)
    assert (mine.judged, mine.correct) == (1, 1)
    assert {n: (m.n, m.total) for n, m in mine.outcomes.items()} == {"revenue": (1, 10.0),
                                                                     "value": (1, 2.5)}
    assert tallies[(anonymous.arm, False)].stats.requests == 1
    assert users == [("t0", alice.user, alice.arm)]  # once, however many requests
    meter.record(alice, 0.002)
    sink.calls.clear()
    meter.flush(sink, "gw")
    assert sink.calls[0][4] == []  # already reported
    meter.flush(sink, "gw")
    assert len(sink.calls) == 1  # nothing new: nothing written
