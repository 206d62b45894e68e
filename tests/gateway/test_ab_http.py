"""A/B/n tests through real gateway processes on loopback: each user stays on one arm across
requests and across two gateways, a split change moves only the users the routing function
says, feedback (labels and named outcomes) reaches the report summed over both gateways, and
the winner serves everyone once the test ends."""

from __future__ import annotations

import pytest
from gateway_process import GatewayProcess, make_keep

from modelkeep.gateway.routing import route

pytestmark = pytest.mark.slow


@pytest.fixture
def pair(tmp_path):
    keep = make_keep(tmp_path / "project")
    keep.deploy("echo@1.0.0")
    gateways = [GatewayProcess(keep.settings.root, "--poll-interval", "0.1") for _ in range(2)]
    try:
        for gw in gateways:
            gw.wait_ready()
        yield keep, gateways
    finally:
        for gw in gateways:
            gw.stop()
        keep.close()


def _sync(gateways, keep) -> None:
    revision = keep.deployment_revision()
    for gw in gateways:
        gw.wait_for(lambda gw=gw: gw.client.get("/v1/models").json()["revision"] == revision)
        gw.wait_ready()


def _ask(gw, user: str | None, **extra: str):
    headers = {"X-User-Id": user} if user else {}
    response = gw.predict("echo", {"x": [1]}, **headers, **extra)
    assert response.status_code == 200, response.text
    return response.json()


def test_users_stay_on_their_arm_across_requests_and_gateways_and_feedback_is_reported(pair):
    keep, gateways = pair
    keep.start_ab_test("echo", "A=1.0.0,B=1.0.1", "50/50", by="header:X-User-Id")
    _sync(gateways, keep)
    state = keep.deployment("echo")
    users = [f"user-{i}" for i in range(120)]
    arms: dict[str, str] = {}
    sent = {"A": [], "B": []}
    for i, user in enumerate(users):
        answers = [_ask(gateways[(i + j) % 2], user) for j in range(3)]
        assert len({(a["arm"], a["version"]) for a in answers}) == 1  # sticky, both gateways
        arm = answers[0]["arm"]
        assert (arm, answers[0]["version"]) == (route(state, user).arm, route(state, user).version)
        assert answers[0]["outputs"]["tag"] == {"A": "one", "B": "two"}[arm]  # that code answered
        arms[user] = arm
        for j, answer in enumerate(answers):  # feedback to the gateway that answered
            label = answer["outputs"] if (arm == "B" or j) else {"tag": "wrong"}
            revenue = {"A": 1.0, "B": 2.0}[arm] + j
            body = {"request_id": answer["request_id"], "label": label,
                    "outcome": {"revenue": revenue}}
            reply = gateways[(i + j) % 2].client.post("/v1/feedback", json=body)
            assert reply.status_code == 202 and reply.json()["arm"] == arm
            sent[arm].append((label == answer["outputs"], revenue))
    assert set(arms.values()) == {"A", "B"}
    unkeyed = [_ask(gateways[0], None)["arm"] for _ in range(10)]  # no key: a random arm each
    for gw in gateways:
        gw.stop()  # a stopping gateway hands in its last counts
    report = keep.ab_report("echo")
    by_arm = {a.arm: a for a in report.arms}
    for arm in ("A", "B"):
        metrics = {m.metric: m for m in by_arm[arm].metrics}
        assert by_arm[arm].requests == 3 * sum(a == arm for a in arms.values())
        assert by_arm[arm].unkeyed_requests == unkeyed.count(arm)
        assert metrics["error_rate"].value == 0.0
        assert metrics["accuracy"].n == len(sent[arm])
        assert metrics["accuracy"].value == pytest.approx(
            sum(ok for ok, _ in sent[arm]) / len(sent[arm]))
        assert metrics["outcome:revenue"].value == pytest.approx(
            sum(v for _, v in sent[arm]) / len(sent[arm]))
        assert metrics["latency_ms"].n == by_arm[arm].requests
    assert report.sample_ratio.observed == {arm: sum(a == arm for a in arms.values())
                                            for arm in ("A", "B")}  # users, not requests
    revenue = next(c for c in report.comparisons if c.metric == "outcome:revenue")
    assert revenue.difference == pytest.approx(1.0, abs=0.3) and revenue.significant


def test_a_split_change_moves_only_the_boundary_users_and_the_winner_takes_all(pair):
    keep, gateways = pair
    keep.start_ab_test("echo", "A=1.0.0,B=1.0.1", "50/50", by="header:X-User-Id")
    _sync(gateways, keep)
    users = [f"u{i}" for i in range(300)]
    before = {u: _ask(gateways[0], u)["arm"] for u in users}
    old_state = keep.deployment("echo")
    keep.split_ab_test("echo", "70/30")
    _sync(gateways, keep)
    new_state = keep.deployment("echo")
    after = {u: _ask(gateways[1], u)["arm"] for u in users}
    assert after == {u: route(new_state, u).arm for u in users}
    changed = sum(before[u] != after[u] for u in users) / len(users)
    assert all(before[u] == "B" for u in users if before[u] != after[u])  # only B gave users up
    assert abs(changed - 0.2) < 5 * (0.2 * 0.8 / len(users)) ** 0.5  # the least possible: 20%
    assert sum(route(old_state, u).arm != after[u] for u in users) == sum(
        before[u] != after[u] for u in users)
    response = gateways[0].client.post("/v1/feedback", json={"request_id": "never-answered",
                                                             "outcome": {"revenue": 1}})
    assert response.status_code == 404 and response.json()["error"]["code"] == "request_not_found"
    keep.end_ab_test("echo", "B")
    _sync(gateways, keep)
    assert {_ask(gw, u)["version"] for gw in gateways for u in users[:20]} == {"1.0.1"}


@pytest.mark.parametrize("outcome, fragment", [
    ({}, "1 to 32 named numbers"),
    ([1, 2], "1 to 32 named numbers"),
    ({"revenue": "a lot"}, "must be a finite number"),
    ({"revenue": True}, "must be a finite number"),
    ({"bad name!": 1}, "is not a name"),
    ({f"m{i}": 1 for i in range(33)}, "1 to 32 named numbers"),
])
def test_bad_outcomes_are_400_with_one_line(pair, outcome, fragment):
    keep, gateways = pair
    answer = _ask(gateways[0], "someone")
    response = gateways[0].client.post("/v1/feedback", json={"request_id": answer["request_id"],
                                                             "outcome": outcome})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input" and fragment in error["message"]


@pytest.mark.parametrize("by", ["cookie:uid", "query:user"])
def test_the_sticky_key_may_be_a_cookie_or_a_query_parameter(pair, by):
    keep, gateways = pair
    keep.start_ab_test("echo", "A=1.0.0,B=1.0.1", "50/50", by=by)
    _sync(gateways, keep)
    state = keep.deployment("echo")

    def ask(gw, user: str) -> str:
        if by.startswith("cookie"):
            response = gw.client.post("/v1/models/echo/predict", json={"inputs": {"x": [1]}},
                                      headers={"Cookie": f"theme=dark; uid={user}"})
        else:
            response = gw.client.post(f"/v1/models/echo/predict?user={user}",
                                      json={"inputs": {"x": [1]}})
        assert response.status_code == 200
        return response.json()["arm"]

    for i in range(40):
        user = f"u{i}"
        assert ask(gateways[0], user) == ask(gateways[1], user) == route(state, user).arm


@pytest.mark.postgres
def test_two_gateways_on_a_postgresql_keep_add_up_in_the_report(tmp_path, pg_url):
    """The team setup: the test's state and every gateway's tallies in PostgreSQL."""
    keep = make_keep(tmp_path / "project", database_url=pg_url)
    gateways = [GatewayProcess(keep.settings.root, "--poll-interval", "0.1") for _ in range(2)]
    try:
        keep.start_ab_test("echo", "A=1.0.0,B=1.0.1", "50/50", by="header:X-User-Id")
        for gw in gateways:
            gw.wait_ready()
        _sync(gateways, keep)
        state = keep.deployment("echo")
        arms = {}
        for i in range(60):
            user = f"pg-{i}"
            answers = {_ask(gw, user)["arm"] for gw in gateways}  # each user at both gateways
            assert answers == {route(state, user).arm}
            arms[user] = answers.pop()
    finally:
        for gw in gateways:
            gw.stop()
    report = keep.ab_report("echo")
    keep.close()
    for arm in report.arms:
        users = sum(a == arm.arm for a in arms.values())
        assert arm.requests == 2 * users  # both gateways' requests
        assert report.sample_ratio.observed[arm.arm] == users  # each user once
