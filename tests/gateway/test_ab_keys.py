"""Where a sticky key comes from (a header, a cookie or a query parameter), and routing of an
A/B/n test as a pure function of the state and the key."""

from __future__ import annotations

from collections import Counter

import pytest

from modelkeep.gateway.routing import request_key, route
from modelkeep.registry import ab_rollout
from modelkeep.registry.ab_split import parse_split
from modelkeep.registry.rollout import Deployment


def test_a_key_may_come_from_a_cookie_or_a_query_parameter():
    cookies = {"cookie": 'theme=dark; uid="alice"; other=1'}
    assert request_key("cookie:uid", cookies, "r1") == ("alice", True)
    assert request_key("cookie:theme", cookies, "r1") == ("dark", True)
    assert request_key("cookie:missing", cookies, "r1") == ("r1", False)
    assert request_key("cookie:uid", {"cookie": "uid="}, "r1") == ("r1", False)
    assert request_key("cookie:uid", {}, "r1") == ("r1", False)
    assert request_key("query:user", {}, "r1", {"user": "bob"}) == ("bob", True)
    assert request_key("query:user", {}, "r1", {"other": "bob"}) == ("r1", False)
    assert request_key("query:user", {}, "r1") == ("r1", False)


def _test(split: str = "50/30/20") -> Deployment:
    arms = (("A", "1.0.0"), ("B", "1.1.0"), ("C", "1.2.0"))
    return ab_rollout.start(Deployment("m", stable="1.0.0"), arms, parse_split(split, "ABC"),
                            seed="f00d", by="header:X-User-Id")


def test_each_arm_gets_its_share_and_its_version():
    state = _test()
    counts = Counter(route(state, f"user-{i}") for i in range(6000))
    shares = {r.arm: n / 6000 for r, n in counts.items()}
    assert {r.arm: r.version for r in counts} == {"A": "1.0.0", "B": "1.1.0", "C": "1.2.0"}
    for arm, expected in {"A": 0.5, "B": 0.3, "C": 0.2}.items():
        assert shares[arm] == pytest.approx(expected, abs=5 * (expected * (1 - expected) / 6000) ** 0.5)


def test_after_the_end_the_winner_answers_everyone():
    state = ab_rollout.end(_test(), "C")
    assert {route(state, f"user-{i}").version for i in range(100)} == {"1.2.0"}
    assert state.previous[0] == "1.0.0"
