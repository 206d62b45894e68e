"""``modelkeep gateway`` as a real process on loopback, called with httpx: routing under a canary
split, rollback within a second, a broken version beside healthy ones, and every bad request."""

from __future__ import annotations

import threading
import time

import pytest
from gateway_process import FAILS_ON_SEVEN, SLOW_TO_LOAD, GatewayProcess, make_keep, register_python

from modelkeep.gateway.routing import route
from modelkeep.registry.gates import GatePolicy

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def keep(tmp_path_factory):
    k = make_keep(tmp_path_factory.mktemp("gw") / "project")
    for ref in ("echo@1.0.0", "slow@1.0.0", "broken@1.0.0"):
        k.deploy(ref)
    yield k
    k.close()


@pytest.fixture(scope="module")
def gateway(keep):
    """One gateway for the tests that change no deployment (per-request timeout 1 s)."""
    gw = GatewayProcess(keep.settings.root, "--timeout", "1", "--poll-interval", "0.1")
    gw.wait_ready()
    yield gw
    gw.stop()


def test_predict_answers_with_the_version_request_id_and_overhead(gateway):
    response = gateway.predict("echo", {"x": [1, 2, 3]}, **{"X-Request-Id": "req-42"})
    assert response.status_code == 200
    body = response.json()
    assert body["outputs"] == {"tag": "one", "doubled": [2, 4, 6]}
    assert (body["model"], body["version"], body["ref"]) == ("echo", "1.0.0", "echo@1.0.0")
    assert body["request_id"] == "req-42" == response.headers["x-request-id"]
    assert response.headers["x-modelkeep-version"] == "1.0.0"
    assert 0 <= float(response.headers["x-modelkeep-overhead-ms"]) < 1000
    fresh = gateway.predict("echo", {"x": [1]}, **{"X-Request-Id": "bad id with spaces"})
    assert fresh.json()["request_id"] != "bad id with spaces" and len(fresh.json()["request_id"]) == 32


def test_keep_alive_requests_do_not_wait_on_delayed_acks(gateway):
    """~40 ms a request when Nagle's algorithm is left on (uvicorn#3149); ~1-2 ms without."""
    gateway.predict("echo", {"x": [1]})
    started = time.monotonic()
    for _ in range(40):
        assert gateway.predict("echo", {"x": [1]}).status_code == 200
    assert (time.monotonic() - started) / 40 < 0.02


def test_a_broken_version_is_unhealthy_with_its_reason_and_the_others_serve(gateway):
    health = gateway.client.get("/healthz").json()
    states = {v["ref"]: v for v in health["versions"]}
    assert health["status"] == "degraded"
    assert states["echo@1.0.0"]["status"] == "healthy" and states["slow@1.0.0"]["status"] == "healthy"
    assert states["broken@1.0.0"]["status"] == "unhealthy"
    assert "the weights file is missing" in states["broken@1.0.0"]["reason"]
    response = gateway.predict("broken", {"x": [1]})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "version_unhealthy" and "the weights file is missing" in error["message"]
    assert gateway.predict("echo", {"x": [1]}).status_code == 200
    models = {m["model"]: m for m in gateway.client.get("/v1/models").json()["models"]}
    assert models["echo"]["split"] == {"1.0.0": 1.0}
    assert models["broken"]["versions"][0]["status"] == "unhealthy"


@pytest.mark.parametrize("body, fragment", [
    (b'{"inputs": {"x": [1, 2', "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b'[1, 2]', 'JSON object with "inputs"'),
    (b'{"x": [1]}', 'JSON object with "inputs"'),
])
def test_malformed_requests_are_400_with_one_clear_message(gateway, body, fragment):
    response = gateway.client.post("/v1/models/echo/predict", content=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_model_input" and fragment in error["message"]
    assert "\n" not in error["message"] and response.headers["x-request-id"]


def test_a_body_in_chunks_is_read_whole_and_one_over_the_limit_is_refused(gateway):
    def chunks():
        yield b'{"inputs": {"x": ['
        yield b"1, 2, 3"
        yield b"]}}"
    response = gateway.client.post("/v1/models/echo/predict", content=chunks())  # chunked
    assert response.status_code == 200 and response.json()["outputs"]["doubled"] == [2, 4, 6]
    big = b'{"inputs": {"x": [' + b"1," * (8 * 1024 * 1024) + b"1]}}"  # over 16 MiB
    response = gateway.client.post("/v1/models/echo/predict", content=big)
    assert response.status_code == 400
    assert "over the 16777216 bytes allowed" in response.json()["error"]["message"]
    assert gateway.predict("echo", {"x": [1]}).status_code == 200


def test_predict_wants_post(gateway):
    response = gateway.client.get("/v1/models/echo/predict")
    assert response.status_code == 405


@pytest.mark.parametrize("path, code", [
    ("/v1/models/nope/predict", "not_deployed"),
    ("/v1/models/echo@9.9.9/predict", "not_deployed"),
    ("/v1/models/echo/../../etc/passwd", "not_deployed"),
    ("/v2/anything", "not_deployed"),
])
def test_unknown_models_versions_and_paths_are_404(gateway, path, code):
    response = gateway.client.post(path, json={"inputs": {"x": [1]}})
    assert response.status_code == 404 and response.json()["error"]["code"] == code


def test_a_version_the_gateway_holds_can_be_asked_for_by_number(gateway):
    response = gateway.predict("echo@1.0.0", {"x": [5]})
    assert response.status_code == 200 and response.json()["arm"] == "pinned"


def test_a_hanging_model_is_504_within_the_timeout_and_blocks_no_other_request(gateway):
    outcome: dict = {}

    def hang() -> None:
        started = time.monotonic()
        outcome["response"] = gateway.predict("slow", {"sleep": [20.0]})
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=hang)
    thread.start()
    time.sleep(0.2)
    started = time.monotonic()
    assert gateway.predict("echo", {"x": [1]}).status_code == 200
    assert time.monotonic() - started < 0.5  # answered while the other call hangs
    thread.join()
    response = outcome["response"]
    assert response.status_code == 504 and response.json()["error"]["code"] == "prediction_timeout"
    assert 0.9 < outcome["seconds"] < 2.5
    assert gateway.predict("slow", {"sleep": [0.0]}).status_code == 200


def test_a_model_that_raises_is_500_with_the_exception(gateway):
    response = gateway.predict("slow", {"sleep": [-1.0]})  # time.sleep(-1): ValueError
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "loader_failed" and "ValueError" in error["message"]


def test_feedback_is_joined_to_the_version_that_answered_and_stored(gateway, keep):
    answers = {f"fb-{n}": gateway.predict("echo", {"x": [4]}, **{"X-Request-Id": f"fb-{n}"}).json()
               for n in range(1, 6)}
    outputs = answers["fb-1"]["outputs"]
    post = gateway.client.post
    right = post("/v1/feedback", json={"request_id": "fb-1", "label": outputs})
    assert right.status_code == 202
    assert right.json() == {"model": "echo", "version": "1.0.0", "request_id": "fb-1",
                            "label": outputs, "value": None, "correct": True}
    reordered = dict(reversed(list(outputs.items())))  # key order does not matter
    assert post("/v1/feedback", json={"request_id": "fb-2", "label": reordered}).json()["correct"]
    assert post("/v1/feedback", json={"request_id": "fb-3", "label": {"tag": "x"}}).json()["correct"] is False
    assert post("/v1/feedback", json={"request_id": "fb-4", "value": 12.5}).json()["correct"] is None
    elsewhere = {"request_id": "answered-by-a-replica", "value": 1, "model": "echo",
                 "version": "1.0.0"}
    assert post("/v1/feedback", json=elsewhere).json()["version"] == "1.0.0"
    # one item per answer: a repeat here is refused, a repeat via a replica is not counted
    again = post("/v1/feedback", json={"request_id": "fb-1", "label": {"tag": "x"}})
    assert again.status_code == 409 and again.json()["error"]["code"] == "feedback_exists"
    assert post("/v1/feedback", json=elsewhere).status_code == 202
    # a refused item does not use up the answer's feedback
    bad = post("/v1/feedback", json={"request_id": "fb-5", "value": 1, "outcome": {"": 1}})
    assert bad.status_code == 400
    assert post("/v1/feedback", json={"request_id": "fb-5", "value": 2.5}).status_code == 202

    def stored() -> bool:
        return keep.feedback_summary("echo")["1.0.0"].items == 6
    gateway.wait_for(stored, timeout=5)
    time.sleep(1.5)  # a repeat would be stored within a second: it must not be counted
    summary = keep.feedback_summary("echo")["1.0.0"]
    assert summary.items == 6 and (summary.judged, summary.correct) == (3, 2)
    assert (summary.values, summary.value_mean) == (3, 16 / 3)


@pytest.mark.parametrize("body, status, code", [
    (b"{not json", 400, "invalid_input"),
    (b'{"request_id": "fb-1"}', 400, "invalid_input"),
    (b'{"label": 1}', 400, "invalid_input"),
    (b'{"request_id": "fb-1", "value": "many"}', 400, "invalid_input"),
    (b'{"request_id": "fb-1", "value": NaN}', 400, "invalid_input"),
    (b'{"request_id": "fb-1", "label": [Infinity]}', 400, "invalid_input"),
    (b'{"request_id": "' + b"x" * 129 + b'", "value": 1}', 400, "invalid_input"),
    (b'{"request_id": "never-seen", "label": 1}', 404, "request_not_found"),
    (b'{"request_id": "never-seen", "label": 1, "model": "echo", "version": "9.9.9"}', 404,
     "request_not_found"),
])
def test_bad_feedback_is_refused_with_one_clear_message(gateway, body, status, code):
    response = gateway.client.post("/v1/feedback", content=body)
    assert response.status_code == status and response.json()["error"]["code"] == code


# -- rollouts: each test gets its own keep and gateway -------------------------------------------


@pytest.fixture
def fresh(tmp_path):
    k = make_keep(tmp_path / "project")
    register_python(k, "echo", tmp_path / "project" / "echo", SLOW_TO_LOAD.format(tag="three"),
                    {"x": [1]})  # 1.0.2, which takes 1.5 s to import in the gateway
    k.deploy("echo@1.0.0")
    # the default poll interval (0.2 s)
    gw = GatewayProcess(k.settings.root, env={"TEST_LOAD_SECONDS": "1.5"})
    gw.wait_ready()
    yield k, gw
    gw.stop()
    k.close()


def _wait_revision(gw: GatewayProcess, keep) -> None:
    revision = keep.deployment_revision()
    gw.wait_for(lambda: gw.client.get("/v1/models").json()["revision"] == revision)
    gw.wait_ready()


def test_a_canary_split_routes_each_user_as_the_routing_function_says(fresh):
    keep, gw = fresh
    keep.deploy("echo@1.0.1", canary=True, steps=(30, 100), by="header:X-User-Id")
    _wait_revision(gw, keep)
    state = keep.deployment("echo")
    users = [f"user-{i}" for i in range(200)]
    served = {}
    for user in users:
        body = gw.predict("echo", {"x": [1]}, **{"X-User-Id": user}).json()
        assert body["outputs"]["tag"] == {"1.0.0": "one", "1.0.1": "two"}[body["version"]]
        served[user] = body["version"]
        assert served[user] == route(state, user).version  # same answer as the pure function
    share = sum(v == "1.0.1" for v in served.values()) / len(users)
    assert 0.15 < share < 0.45
    for user in users[:20]:  # sticky
        assert gw.predict("echo", {"x": [1]}, **{"X-User-Id": user}).json()["version"] == served[user]
    keep.change_deployment("echo", "promote")
    _wait_revision(gw, keep)
    assert {gw.predict("echo", {"x": [1]}).json()["version"] for _ in range(20)} == {"1.0.1"}


def test_rollback_takes_effect_within_a_second_without_a_failed_request(fresh):
    keep, gw = fresh
    keep.deploy("echo@1.0.1", canary=True)
    keep.change_deployment("echo", "promote-full")
    _wait_revision(gw, keep)
    assert gw.predict("echo", {"x": [1]}).json()["version"] == "1.0.1"
    statuses: list[int] = []
    started = time.monotonic()
    keep.change_deployment("echo", "rollback")

    def back_on_stable() -> bool:
        response = gw.predict("echo", {"x": [1]})
        statuses.append(response.status_code)
        return response.json().get("version") == "1.0.0"

    gw.wait_for(back_on_stable, timeout=5)
    assert time.monotonic() - started < 1.0  # from the command to the stable version answering
    assert set(statuses) == {200}
    assert {gw.predict("echo", {"x": [1]}).json()["version"] for _ in range(20)} == {"1.0.0"}


def test_two_gateways_apply_the_same_split(fresh):
    keep, gw = fresh
    other = GatewayProcess(keep.settings.root)
    try:
        other.wait_ready()
        keep.deploy("echo@1.0.1", canary=True, steps=(50, 100), by="header:X-User-Id")
        _wait_revision(gw, keep)
        _wait_revision(other, keep)
        for user in (f"u{i}" for i in range(60)):
            a = gw.predict("echo", {"x": [1]}, **{"X-User-Id": user}).json()["version"]
            b = other.predict("echo", {"x": [1]}, **{"X-User-Id": user}).json()["version"]
            assert a == b
        keep.change_deployment("echo", "abort")
        _wait_revision(other, keep)
        assert {other.predict("echo", {"x": [1]}).json()["version"] for _ in range(10)} == {"1.0.0"}
    finally:
        other.stop()


def test_a_new_version_takes_traffic_only_once_loaded(fresh):
    keep, gw = fresh
    keep.deploy("echo@1.0.2")
    seen: list[tuple[int, str]] = []
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        response = gw.predict("echo", {"x": [1]})
        seen.append((response.status_code, response.json().get("version", "")))
        if seen[-1][1] == "1.0.2":
            break
    assert {status for status, _ in seen} == {200}  # no request failed while it loaded
    assert seen[0][1] == "1.0.0" and seen[-1][1] == "1.0.2"
    assert sum(v == "1.0.0" for _, v in seen) > 5  # it did take a while to load


def test_a_failing_gate_aborts_the_canary_by_itself(fresh, tmp_path):
    keep, gw = fresh
    bad = register_python(keep, "echo", tmp_path / "project" / "echo", FAILS_ON_SEVEN, {"x": [1]})
    keep.deploy(f"echo@{bad}", canary=True, steps=(50, 100), window=0,
                gates=GatePolicy(min_requests=10))
    _wait_revision(gw, keep)
    statuses = [gw.predict("echo", {"x": [7]}).status_code for _ in range(60)]
    assert 500 in statuses and 200 in statuses  # half the users met the candidate
    gw.wait_for(lambda: keep.deployment("echo").active_rollout is None, timeout=5)
    state = keep.deployment("echo")
    assert state.rollout.phase == "aborted" and state.split() == {"1.0.0": 1.0}
    last = keep.deployment_history("echo")[-1]
    assert last.action == "abort" and "gate error_rate failed" in last.reason
    _wait_revision(gw, keep)
    assert {gw.predict("echo", {"x": [7]}).status_code for _ in range(20)} == {200}


def test_a_step_whose_gates_held_for_its_window_advances_by_itself(fresh):
    keep, gw = fresh
    keep.deploy("echo@1.0.1", canary=True, steps=(50, 100), window=1.0,
                gates=GatePolicy(min_requests=5))
    _wait_revision(gw, keep)
    deadline = time.monotonic() + 10
    while keep.deployment("echo").stable != "1.0.1" and time.monotonic() < deadline:
        assert gw.predict("echo", {"x": [1]}).status_code == 200
    assert keep.deployment("echo").stable == "1.0.1", keep.deployment_history("echo")[-1]
    assert "gates held for the 1 s window" in keep.deployment_history("echo")[-1].reason


@pytest.mark.postgres
def test_gateways_on_a_postgresql_keep_share_the_split_and_the_rollback(tmp_path, pg_url):
    """The team setup: the rollout state in PostgreSQL, two gateway processes reading it."""
    keep = make_keep(tmp_path / "project", database_url=pg_url)
    keep.deploy("echo@1.0.0")
    gateways = [GatewayProcess(keep.settings.root) for _ in range(2)]
    try:
        for gw in gateways:
            gw.wait_ready()
        keep.deploy("echo@1.0.1", canary=True, steps=(50, 100), by="header:X-User-Id")
        for gw in gateways:
            _wait_revision(gw, keep)
        state = keep.deployment("echo")
        for user in (f"u{i}" for i in range(40)):
            answers = {gw.predict("echo", {"x": [1]}, **{"X-User-Id": user}).json()["version"]
                       for gw in gateways}
            assert answers == {route(state, user).version}
        started = time.monotonic()
        keep.change_deployment("echo", "rollback")
        for gw in gateways:
            gw.wait_for(lambda gw=gw: all(
                gw.predict("echo", {"x": [1]}, **{"X-User-Id": f"u{i}"}).json()["version"] == "1.0.0"
                for i in range(10)), timeout=5)
        assert time.monotonic() - started < 1.5
    finally:
        for gw in gateways:
            gw.stop()
        keep.close()
