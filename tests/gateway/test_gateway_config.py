"""A real ``modelkeep gateway`` process applying each version's deployment configuration: its
timeout and environment variables, restored by a rollback; a version with its own dependency
lock answering from its own interpreter (built offline by uv) while the gateway stays up; and a
lock that cannot be built marking only that version unhealthy."""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from gateway_process import ECHO, GatewayProcess, register_python
from wheels import make_wheel

from modelkeep.keep import Keep
from modelkeep.registry.deploy_config import DeployConfig

pytestmark = pytest.mark.slow

CONFIGURED = '''
import os
import sys
import time

TAG = "{tag}"


def run(inputs):
    time.sleep(inputs["sleep"][0])
    return {{"tag": TAG, "foo": os.environ.get("FOO", ""), "prefix": sys.prefix}}
'''
PINNED = '''
import sys


def run(inputs):
    import tinydep
    return {"prefix": sys.prefix, "tinydep": tinydep.VERSION, "x": inputs["x"]}
'''
PINNED_META = """name: pinned
version: 1.0.0
technical:
  signature:
    inputs: [{{name: x, dtype: int64, shape: [-1]}}]
deployment:
  dependencies_lock: ["{lock}"]
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("gwconfig")
    root = base / "project"
    keep = Keep.init(root)
    for tag in ("one", "two"):
        register_python(keep, "cfg", root / "cfg", CONFIGURED.format(tag=tag), {"sleep": [0.0]})
    register_python(keep, "capped", root / "capped", CONFIGURED.format(tag="c"), {"sleep": [0.0]})
    register_python(keep, "echo", root / "echo", ECHO.format(tag="one"), {"x": [1]})
    for lock in ("tinydep==1.0", "tinydep==9.9"):
        register_python(keep, "pinned", root / "pinned", PINNED, None,
                        PINNED_META.format(lock=lock))
    make_wheel(base / "wheels")
    env = {"UV_NO_INDEX": "1", "UV_OFFLINE": "1", "UV_FIND_LINKS": str(base / "wheels"),
           "UV_CACHE_DIR": str(base / "uv-cache")}
    yield keep, env
    keep.close()


def test_a_rollback_restores_the_timeout_and_environment_of_the_version(setup):
    keep, env = setup
    keep.deploy("cfg@1.0.0", config=DeployConfig(timeout=2, environment={"FOO": "1"}))
    keep.deploy("cfg@1.0.1", config=DeployConfig(timeout=5, environment={"FOO": "2"}))
    gateway = GatewayProcess(keep.settings.root, "--timeout", "30", "--poll-interval", "0.1",
                             env={**env, "GW_SECRET": "s3cret"})
    try:
        gateway.wait_ready(60)
        answer = gateway.predict("cfg", {"sleep": [0.0]}).json()
        assert (answer["version"], answer["outputs"]["foo"]) == ("1.0.1", "2")
        assert answer["outputs"]["prefix"] == sys.prefix  # the gateway's interpreter, a worker
        assert gateway.predict("cfg", {"sleep": [2.5]}).status_code == 200  # within v2's 5 s
        keep.change_deployment("cfg", "rollback", "p99 up")
        # 1.0.0's workers are still up (a kept stable version): the switch waits on nothing
        assert gateway.wait_for(lambda: gateway.predict("cfg", {"sleep": [0.0]}).json()
                                ["version"] == "1.0.0") < 1.0
        answer = gateway.predict("cfg", {"sleep": [0.0]}).json()
        assert (answer["outputs"]["tag"], answer["outputs"]["foo"]) == ("one", "1")
        slow = gateway.predict("cfg", {"sleep": [2.5]})  # over v1's 2 s again
        assert slow.status_code == 504 and slow.json()["error"]["code"] == "prediction_timeout"
        assert "2 s" in slow.json()["error"]["message"]
        # the hung worker was killed and replaced: the version answers again
        gateway.wait_for(lambda: gateway.predict("cfg", {"sleep": [0.0]}).status_code == 200,
                         timeout=30)
        models = {m["model"]: m for m in gateway.client.get("/v1/models").json()["models"]}
        assert models["cfg"]["configs"]["1.0.0"]["environment"] == {"FOO": "1"}
        placement = {v["ref"]: v["placement"] for v in models["cfg"]["versions"]}["cfg@1.0.0"]
        assert placement["mode"] == "worker" and placement["prefix"] == sys.prefix
        # a new configuration for the stable version: the old workers answer until the new
        # ones are up (no request fails), and a secret is referred to, never stored
        keep.deploy("cfg@1.0.0", config=DeployConfig(timeout=2, environment={"FOO": "${GW_SECRET}"}))
        seen = []

        def swapped() -> bool:
            response = gateway.predict("cfg", {"sleep": [0.0]})
            assert response.status_code == 200, response.text
            seen.append(response.json()["outputs"]["foo"])
            return seen[-1] == "s3cret"
        gateway.wait_for(swapped, timeout=30)
        assert set(seen) <= {"1", "s3cret"}
    finally:
        gateway.stop()
    history = keep.deployment_replay("cfg")
    assert [p.action for p in history] == ["deploy", "deploy", "rollback", "configure"]
    assert "1.0.0 traffic 0% -> 100%" in history[2].changes
    assert history[3].changes == ["1.0.0 environment.FOO 1 -> ${GW_SECRET}"]
    assert "s3cret" not in keep.db.scalar("SELECT group_concat(state_json) FROM deployment_events")


def test_a_version_with_its_own_lock_answers_from_its_own_interpreter(setup):
    keep, env = setup
    keep.deploy("echo@1.0.0")
    keep.deploy("capped@1.0.0", config=DeployConfig(threads=1, timeout=1.5))
    keep.deploy("pinned@1.0.0")
    gateway = GatewayProcess(keep.settings.root, "--poll-interval", "0.1", env=env)
    try:
        health = gateway.wait_ready(120)
        states = {v["ref"]: v["status"] for v in health["versions"]}
        assert states["pinned@1.0.0"] == "healthy" and states["echo@1.0.0"] == "healthy"
        answer = gateway.predict("pinned", {"x": [3]}).json()
        assert answer["outputs"]["tinydep"] == "1.0" and answer["outputs"]["x"] == [3]
        assert answer["outputs"]["prefix"] != sys.prefix
        assert answer["outputs"]["prefix"].startswith(str(keep.settings.keep_dir / "envs"))
        assert gateway.predict("echo", {"x": [1]}).json()["outputs"]["tag"] == "one"
        # an in-process version with threads: 1 answers one request at a time: of two that
        # each take 1 s under a 1.5 s timeout, the second waits and times out
        with ThreadPoolExecutor(2) as pool:
            codes = sorted(pool.map(lambda _: gateway.predict("capped", {"sleep": [1.0]})
                                    .status_code, range(2)))
        assert codes == [200, 504]
        placement = {v["ref"]: v["placement"] for m in gateway.client.get("/v1/models").json()
                     ["models"] for v in m["versions"]}
        assert placement["capped@1.0.0"]["mode"] == "in-process"
        assert placement["pinned@1.0.0"]["mode"] == "worker" and placement["pinned@1.0.0"]["env"]
        # a lock that cannot be built: that version is unhealthy with uv's reason, the
        # others keep serving, and rolling back finds 1.0.0's environment still built
        keep.deploy("pinned@1.0.1")
        gateway.wait_for(lambda: any(v["ref"] == "pinned@1.0.1" and v["status"] == "unhealthy"
                                     for v in gateway.client.get("/healthz").json()["versions"]),
                         timeout=60)
        failed = [v for v in gateway.client.get("/healthz").json()["versions"]
                  if v["ref"] == "pinned@1.0.1"][0]
        assert "cannot build the environment of pinned@1.0.1" in failed["reason"]
        assert "tinydep" in failed["reason"]
        refused = gateway.predict("pinned", {"x": [3]})
        assert refused.status_code == 503 and refused.json()["error"]["code"] == "version_unhealthy"
        assert gateway.predict("echo", {"x": [1]}).status_code == 200
        keep.change_deployment("pinned", "rollback")
        gateway.wait_for(lambda: gateway.predict("pinned", {"x": [1]}).status_code == 200,
                         timeout=2)
        assert json.loads(gateway.client.get("/healthz").text)["status"] in ("ok", "degraded")
    finally:
        gateway.stop()


def test_an_inline_version_answers_on_the_event_loop_and_a_slow_one_blocks_it(tmp_path):
    """``isolation: inline`` (opt-in): answered without the thread hop, its errors as usual, and
    the risk the docs name: while an inline model runs, the gateway answers nobody else."""
    keep = Keep.init(tmp_path / "project")
    register_python(keep, "fast", tmp_path / "project" / "fast", ECHO.format(tag="f"), {"x": [1]})
    register_python(keep, "slow", tmp_path / "project" / "slow", CONFIGURED.format(tag="s"),
                    {"sleep": [0.0]})
    keep.deploy("fast@1.0.0", config=DeployConfig(isolation="inline"))
    keep.deploy("slow@1.0.0", config=DeployConfig(isolation="inline", timeout=0.2))
    gateway = GatewayProcess(keep.settings.root, "--poll-interval", "0.1")
    try:
        gateway.wait_ready(60)
        placements = {v["ref"]: v["placement"]["mode"] for m in gateway.client.get(
            "/v1/models").json()["models"] for v in m["versions"]}
        assert placements == {"fast@1.0.0": "inline", "slow@1.0.0": "inline"}
        answer = gateway.predict("fast", {"x": [1, 2]})
        assert answer.status_code == 200 and answer.json()["outputs"]["doubled"] == [2, 4]
        assert float(answer.headers["x-modelkeep-overhead-ms"]) >= 0
        bad = gateway.predict("fast", {"x": ["a"]})  # the loader's checks run inline too
        assert bad.status_code == 422
        with ThreadPoolExecutor(2) as pool:
            slow = pool.submit(gateway.predict, "slow", {"sleep": [0.6]})
            time.sleep(0.15)
            started = time.monotonic()
            fast = gateway.predict("fast", {"x": [3]})
            waited = time.monotonic() - started
            # no timeout inline: the slow call answers after 0.6 s, past its 0.2 s timeout
            assert slow.result().status_code == 200
        assert fast.status_code == 200 and waited > 0.3  # it waited for the loop
    finally:
        gateway.stop()
        keep.close()
