"""Routing applies to hosted versions like local ones: a canary across two providers, a local
model against a hosted one, a shadow copy to a hosted candidate, and a candidate whose budget
is spent giving its traffic back to the stable version."""

from __future__ import annotations

import time

import pytest
from fake_provider import FakeProvider
from gateway_process import GatewayProcess, register_python
from hosted_support import KEY, KEY_ENV, LOCAL, hosted_keep

from modelkeep.gateway.routing import route

pytestmark = pytest.mark.slow
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def providers():
    fakes = FakeProvider(key=KEY), FakeProvider(key=KEY)
    yield fakes
    for fake in fakes:
        fake.stop()


@pytest.fixture
def setup(tmp_path, providers):
    keep = hosted_keep(tmp_path / "project", providers[0].url, other_url=providers[1].url)
    keep.deploy("chat@1.0.1")
    keep.deploy("mix@1.0.0")
    started: list[GatewayProcess] = []

    def gateway() -> GatewayProcess:
        gw = GatewayProcess(keep.settings.root, "--poll-interval", "0.1", env={KEY_ENV: KEY})
        started.append(gw)
        gw.wait_ready()
        return gw

    yield keep, gateway
    for gw in started:
        gw.stop()
    keep.close()


def _chat(gw, user: str):
    return gw.client.post("/v1/chat/completions", json={"model": "chat", "messages": HI},
                          headers={"X-User-Id": user})


def test_a_canary_across_two_providers_routes_each_user_as_the_routing_function_says(
        setup, providers):
    keep, gateway = setup
    keep.deploy("chat@1.0.2", canary=True, steps=(50, 100), by="header:X-User-Id")
    gw = gateway()
    for fake in providers:
        fake.forget()
    state = keep.deployment("chat")
    seen = {}
    for user in (f"user{i}" for i in range(40)):
        response = _chat(gw, user)
        assert response.status_code == 200
        seen[user] = response.headers["X-Modelkeep-Version"]
        assert seen[user] == route(state, user).version
        assert response.headers["X-Modelkeep-Arm"] == route(state, user).arm
    candidates = sum(v == "1.0.2" for v in seen.values())
    assert len(providers[1].received()) == candidates > 0
    assert len(providers[0].received()) == 40 - candidates > 0
    assert {r["body"]["model"] for r in providers[1].received()} == {"other-model"}
    expected = {"stable 1.0.1": 40 - candidates, "candidate 1.0.2": candidates}
    gw.wait_for(lambda: {line.group: line.calls
                         for line in keep.cost_report("chat", by="arm").lines} == expected, timeout=5)


def test_a_local_model_and_a_hosted_one_share_a_canary(setup):
    keep, gateway = setup
    keep.deploy("mix@2.0.0", canary=True, steps=(50, 100), by="header:X-User-Id")
    gw = gateway()
    texts = {}
    for user in (f"u{i}" for i in range(30)):
        response = gw.predict("mix", {"prompt": "hi"}, **{"X-User-Id": user})
        assert response.status_code == 200, response.text
        texts[response.json()["version"]] = response.json()["outputs"]["text"]
    assert texts == {"1.0.0": "local: hi", "2.0.0": "echo: hi"}


def test_a_hosted_shadow_copy_is_costed_and_never_answers(setup, providers):
    keep, gateway = setup
    keep.deploy("chat@1.0.2", shadow=True)
    gw = gateway()
    providers[1].forget()
    for i in range(5):
        response = _chat(gw, f"s{i}")
        assert response.headers["X-Modelkeep-Version"] == "1.0.1"
    gw.wait_for(lambda: len(providers[1].received()) == 5, timeout=5)
    gw.wait_for(lambda: any(line.group == "shadow 1.0.2"
                            for line in keep.cost_report("chat", by="arm").lines), timeout=5)


def test_a_candidate_whose_budget_is_spent_gives_its_traffic_to_the_stable_version(setup, providers):
    keep, gateway = setup
    keep.deploy("chat@1.0.2", canary=True, steps=(50, 100), by="header:X-User-Id")
    keep.set_budget("chat@1.0.2", "0.02", "USD")  # two calls
    gw = gateway()
    providers[1].forget()
    versions = [_chat(gw, f"b{i}") for i in range(30)]
    assert all(r.status_code == 200 for r in versions)
    assert sum(r.headers["X-Modelkeep-Version"] == "1.0.2" for r in versions) == 2
    assert len(providers[1].received()) == 2
    time.sleep(1.2)
    [budget] = keep.budgets("chat")
    assert (budget.spent_micros, budget.reserved_micros, budget.exhausted) == (20_000, 0, True)
    # pinned to the spent version: one clear 402
    pinned = gw.client.post("/v1/chat/completions", json={"model": "chat@1.0.2", "messages": HI})
    assert pinned.status_code == 402
    assert pinned.json()["error"]["code"] == "budget_exhausted"
    assert "modelkeep budget set chat@1.0.2" in pinned.json()["error"]["hint"]


def test_an_ab_test_of_two_providers_counts_each_arm_and_costs_it(setup, providers):
    """Hosted answers count in the A/B test's arms (requests, latency) as local ones do, and
    their spend is kept per arm: what `modelkeep demo` shows."""
    keep, gateway = setup
    keep.start_ab_test("chat", "A=1.0.1,B=1.0.2", "50/50", by="header:X-User-Id")
    gw = gateway()
    arms: dict[str, int] = {}
    for i in range(20):
        response = gw.predict("chat", {"messages": HI}, **{"X-User-Id": f"ab{i}"})
        assert response.status_code == 200, response.text
        arm = response.json()["arm"]
        arms[arm] = arms.get(arm, 0) + 1
    assert set(arms) == {"A", "B"}

    def counted() -> dict[str, int]:
        return {a["arm"]: a["requests"] for a in keep.ab_report("chat").to_dict()["arms"]}

    gw.wait_for(lambda: counted() == arms, timeout=5)
    gw.wait_for(lambda: {line.group: line.calls for line in
                         keep.cost_report("chat", by="arm").lines}
                == {"A 1.0.1": arms["A"], "B 1.0.2": arms["B"]}, timeout=5)


def test_chat_answers_count_in_the_ab_test_and_take_feedback(setup, providers):
    """Chat requests, streamed or not, count for their arm as predict requests do, and their
    request ids take feedback: outcomes for the arm, labels judged against the answer's text
    (a streamed answer's labels are not judged: the gateway does not hold its text)."""
    keep, gateway = setup
    keep.start_ab_test("chat", "A=1.0.1,B=1.0.2", "50/50", by="header:X-User-Id")
    gw = gateway()
    arms: dict[str, int] = {}
    judged = []
    for i in range(16):
        streamed = i % 4 == 0
        response = gw.client.post("/v1/chat/completions", headers={"X-User-Id": f"chat{i}"},
                                  json={"model": "chat", "messages": HI, "stream": streamed})
        assert response.status_code == 200, response.text
        arm = response.headers["X-Modelkeep-Arm"]
        arms[arm] = arms.get(arm, 0) + 1
        label = "not the answer" if streamed else \
            response.json()["choices"][0]["message"]["content"]
        feedback = gw.client.post("/v1/feedback", json={
            "request_id": response.headers["X-Request-Id"], "label": label,
            "outcome": {"click": 1}})
        assert feedback.status_code == 202, feedback.text
        assert feedback.json()["arm"] == arm and feedback.json()["version"] == \
            response.headers["X-Modelkeep-Version"]
        judged.append(feedback.json()["correct"])
    assert set(arms) == {"A", "B"}
    assert judged == [None if i % 4 == 0 else True for i in range(16)]

    def counted() -> tuple[dict[str, int], int]:
        report = keep.ab_report("chat").to_dict()["arms"]
        clicks = sum(m["n"] for a in report for m in a["metrics"] if m["metric"] == "outcome:click")
        return {a["arm"]: a["requests"] for a in report}, clicks

    gw.wait_for(lambda: counted() == (arms, 16), timeout=5)


def test_a_local_candidate_gets_shadow_copies_of_chat_requests(setup, tmp_path):
    """Chat requests answered by a local stable version are copied to a local shadow
    candidate, and the shadow report compares the two answers."""
    keep, gateway = setup
    register_python(keep, "talk", tmp_path / "talk", LOCAL, {"prompt": "hi"})
    register_python(keep, "talk", tmp_path / "talk",
                    LOCAL.replace('"local: "', '"other: "'), {"prompt": "hi"})
    keep.deploy("talk@1.0.0")
    keep.deploy("talk@1.0.1", shadow=True)
    gw = gateway()
    for i in range(8):
        response = gw.client.post("/v1/chat/completions", json={
            "model": "talk", "messages": [{"role": "user", "content": f"hello {i}"}]})
        assert response.status_code == 200, response.text
        assert response.headers["X-Modelkeep-Version"] == "1.0.0"
        assert response.json()["choices"][0]["message"]["content"] == f"local: hello {i}"
    gw.wait_for(lambda: keep.shadow_report("talk").to_dict()["compared"] == 8, timeout=5)
    report = keep.shadow_report("talk").to_dict()
    assert report["copies"] == 8 and report["agreeing"] == 0  # "other: ..." never agrees
