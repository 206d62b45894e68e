"""Issue 11, item 8: every bad input to a real ``modelkeep gateway`` process gets the right
status and one clear message, and never takes the gateway down. (Malformed bodies, unknown
models, a model that raises and a model that hangs are in test_gateway_http.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from gateway_process import GatewayProcess, make_keep, register_python

pytestmark = pytest.mark.slow

HOG = '''
def run(inputs):
    held = []  # 64 MiB at a time, until it has what it asked for or memory runs out
    for _ in range(inputs["chunks"][0]):
        held.append(bytearray(64 << 20))
    return {"held_mib": 64 * len(held)}
'''


@pytest.fixture(scope="module")
def keep(tmp_path_factory):
    k = make_keep(tmp_path_factory.mktemp("bad") / "project")
    register_python(k, "hog", k.settings.root / "hog", HOG, {"chunks": [0]})
    for ref in ("echo@1.0.0", "hog@1.0.0"):
        k.deploy(ref)
    yield k
    k.close()


@pytest.fixture(scope="module")
def gateway(keep):
    """A gateway whose process may hold 768 MiB of data memory (heap and private mappings)."""
    gw = GatewayProcess(keep.settings.root, "--memory-limit", "768", "--threads", "4")
    gw.wait_ready()
    yield gw
    gw.stop()


@pytest.mark.parametrize("inputs, problem", [
    ({"x": [1], "extra": 2}, "unknown input 'extra'"),
    ({"y": [1]}, "input 'x' is missing"),
    ({"x": ["one"]}, "input 'x' wants int64 values, got string \"one\""),
    ({"x": [[1], [2, 3]]}, "input 'x' is ragged: its rows differ in length or depth"),
    ({"x": [[1, 2]]}, "input 'x' has shape [1, 2], the signature wants [-1] (-1: any size)"),
    ({"x": [1.5]}, "input 'x' wants int64 values, got number 1.5"),
])
def test_inputs_that_miss_the_signature_are_422_with_the_signature(gateway, inputs, problem):
    response = gateway.predict("echo", inputs)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "signature_mismatch"
    assert error["message"] == f"{problem}; the signature is (x: int64[-1])"
    assert error["fields"]["signature"] == "x: int64[-1]"
    assert gateway.predict("echo", {"x": [1]}).status_code == 200


def test_a_signature_miss_is_not_counted_against_the_version(gateway):
    before = _served(gateway, "echo@1.0.0")
    assert gateway.predict("echo", {"x": ["one"]}).status_code == 422
    assert gateway.predict("echo", {"x": [1]}).status_code == 200
    after = _served(gateway, "echo@1.0.0")
    assert after["requests"] - before["requests"] == 1 and after["errors"] == before["errors"]


def _served(gateway: GatewayProcess, ref: str) -> dict:
    models = gateway.client.get("/v1/models").json()["models"]
    versions = [v for m in models for v in m["versions"] if v["ref"] == ref]
    return versions[0]["served_here"] or {"requests": 0, "errors": 0}


def test_a_model_that_exhausts_memory_fails_its_request_and_the_gateway_serves_on(gateway):
    response = gateway.predict("hog", {"chunks": [1000]})  # 64 GiB, over the 768 MiB limit
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "prediction_out_of_memory"
    assert error["message"].startswith("hog@1.0.0 raised: MemoryError: it ran out of memory")
    assert error["fields"]["exception"] == "MemoryError" and "--memory-limit" in error["hint"]
    assert gateway.proc.poll() is None  # the gateway process lives
    assert _data_mib(gateway.proc.pid) < 400  # and the failed call's 700 MiB were freed at once
    assert gateway.predict("hog", {"chunks": [2]}).json()["outputs"] == {"held_mib": 128}
    assert gateway.predict("echo", {"x": [3]}).json()["outputs"]["doubled"] == [6]
    assert gateway.client.get("/healthz").json()["status"] == "ok"
    assert _served(gateway, "hog@1.0.0")["errors"] == 1  # counted against the version


def _data_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith("VmData:")) / 1024


def test_a_memory_limit_below_what_a_gateway_needs_is_refused_by_the_option(keep):
    proc = subprocess.run([sys.executable, "-m", "modelkeep", "--keep", str(keep.settings.root),
                           "gateway", "--memory-limit", "10"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "--memory-limit" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_second_rollout_while_one_runs_is_409_and_changes_nothing(keep, gateway):
    keep.deploy("echo@1.0.1", canary=True, steps=(20, 100), window=0)
    try:
        revision = keep.deployment_revision()
        proc = subprocess.run(
            [sys.executable, "-m", "modelkeep", "--keep", str(keep.settings.root), "deploy",
             "echo@1.0.0", "--canary", "--json"], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 4, proc.stderr  # RolloutStateError: exit 4, HTTP 409
        error = json.loads(proc.stderr)["error"]
        assert error["code"] == "rollout_state"
        assert error["message"] == ("cannot start a rollout of echo: a rollout to 1.0.1 is "
                                    "already running")
        assert keep.deployment_revision() == revision  # nothing was written
        from modelkeep.errors import RolloutStateError

        assert RolloutStateError.http_status == 409
        models = {m["model"]: m for m in gateway.client.get("/v1/models").json()["models"]}
        gateway.wait_for(lambda: gateway.client.get("/v1/models").json()["revision"] == revision)
        assert {m["model"]: m for m in gateway.client.get("/v1/models").json()["models"]}[
            "echo"]["split"] == {"1.0.0": 0.8, "1.0.1": 0.2}
        assert models  # the gateway answered throughout
    finally:
        keep.change_deployment("echo", "abort")


def _children(pid: int) -> dict[int, str]:
    """``pid``'s child processes: pid -> command line (Linux /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            if entry.name.isdigit() and int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found[int(entry.name)] = (entry / "cmdline").read_text().replace("\0", " ")
        except (OSError, ValueError, IndexError):
            continue
    return found


def _versions(gw: GatewayProcess, connections: int) -> set[str]:
    """The versions that answer on ``connections`` fresh connections (spread over the workers)."""
    seen = set()
    for _ in range(connections):
        with httpx.Client(base_url=gw.url) as client:
            response = client.post("/v1/models/echo/predict", json={"inputs": {"x": [1]}})
            assert response.status_code == 200
            seen.add(response.json()["version"])
    return seen


def test_several_workers_share_the_port_without_the_nodelay_stall(keep):
    """--workers 2: two processes answer on one port; keep-alive requests do not wait ~44 ms
    for a delayed ACK (uvicorn#3149) in either; a rollback reaches both; both stop with it."""
    gw = GatewayProcess(keep.settings.root, "--workers", "2", "--poll-interval", "0.1")
    try:
        gw.wait_ready()
        gw.wait_for(lambda: len([c for c in _children(gw.proc.pid).values()
                                 if "spawn_main" in c]) == 2)
        workers = [p for p, c in _children(gw.proc.pid).items() if "spawn_main" in c]
        clients = [httpx.Client(base_url=gw.url) for _ in range(4)]
        for client in clients:  # a connection each, accepted by either worker; warmed
            client.post("/v1/models/echo/predict", json={"inputs": {"x": [1]}})
        started = time.monotonic()
        for _ in range(20):
            for client in clients:
                response = client.post("/v1/models/echo/predict", json={"inputs": {"x": [1]}})
                assert response.status_code == 200
        assert (time.monotonic() - started) / 80 < 0.02
        for client in clients:
            client.close()
        keep.deploy("echo@1.0.1")
        gw.wait_for(lambda: _versions(gw, 10) == {"1.0.1"})
        started = time.monotonic()
        keep.change_deployment("echo", "rollback")
        gw.wait_for(lambda: _versions(gw, 10) == {"1.0.0"})
        assert time.monotonic() - started < 1.5  # every worker polls the keep itself
    finally:
        gw.stop()
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)  # gone with the gateway
