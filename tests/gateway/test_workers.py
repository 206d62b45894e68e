"""Worker processes and their environments, with real processes and a real uv: a version whose
dependency lock the gateway does not meet runs in an interpreter of its own, built offline from
a wheel made here and cached by the lock's hash; a hung worker is killed and replaced; a build
that fails says why."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from gateway_process import SLOW, register_python
from wheels import make_wheel, offline_uv

from modelkeep.errors import EnvBuildError, LoaderFailedError, PredictionTimeoutError
from modelkeep.gateway.envs import build_env, needs_own_env
from modelkeep.gateway.placement import Placer, place
from modelkeep.keep import Keep
from modelkeep.registry.dependency_lock import ServingNeeds, lock_hash
from modelkeep.registry.deploy_config import DeployConfig

pytestmark = pytest.mark.slow

REPORTS = '''
import os
import sys


def run(inputs):
    if inputs["x"][0] == 7:
        raise ValueError("seven is not allowed")
    print("a model that prints must not break the protocol")
    try:
        import tinydep
        dep = tinydep.VERSION
    except ImportError:
        dep = None
    return {"prefix": sys.prefix, "foo": os.environ.get("FOO"), "tinydep": dep}
'''
DIES = '''
import os


def run(inputs):
    if inputs["x"][0] == 3:
        os._exit(3)
    return {"pid": os.getpid()}
'''
SIGNATURE = """name: {name}
version: 1.0.0
technical:
  signature:
    inputs: [{{name: x, dtype: int64, shape: [-1]}}]
deployment:
  dependencies_lock: [{lock}]
"""


@pytest.fixture(scope="module")
def keep(tmp_path_factory):
    root = tmp_path_factory.mktemp("workers") / "project"
    k = Keep.init(root)
    register_python(k, "reports", root / "reports", REPORTS, None,
                    SIGNATURE.format(name="reports", lock=""))
    register_python(k, "pinned", root / "pinned", REPORTS, None,
                    SIGNATURE.format(name="pinned", lock="tinydep==1.0"))
    register_python(k, "slow", root / "slow", SLOW, {"sleep": [0.0]})
    register_python(k, "dies", root / "dies", DIES, {"x": [1]})
    yield k
    k.close()


@pytest.fixture
def uv_offline(tmp_path, monkeypatch):
    wheels = tmp_path / "wheels"
    make_wheel(wheels)
    offline_uv(monkeypatch, wheels, tmp_path / "uv-cache")
    return wheels


def _placer(keep, config=DeployConfig(), timeout=5.0):
    return Placer(keep, lambda ref: config, timeout=timeout, start_timeout=60)


def test_the_gateways_own_packages_decide_whether_a_version_needs_an_env():
    import pydantic

    assert not needs_own_env(())
    assert not needs_own_env((f"pydantic=={pydantic.VERSION}", "click>=8"))
    assert needs_own_env(("tinydep==1.0",))
    assert needs_own_env(("pydantic==0.0.1",))
    assert needs_own_env(("this is not a requirement!!",))
    assert not needs_own_env(("tinydep==1.0; python_version < '3'",))


def test_an_env_is_built_offline_once_and_cached_by_the_locks_hash(tmp_path, uv_offline):
    envs = tmp_path / "envs"
    python = build_env(envs, ("tinydep==1.0",), ref="pinned@1.0.0")
    assert python.parent.parent.parent.name == lock_hash(("tinydep==1.0",))
    out = subprocess.run([str(python), "-c", "import sys, tinydep; print(sys.prefix, tinydep.VERSION)"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out[1] == "1.0" and out[0] != sys.prefix
    ready = python.parent.parent.parent / "ready.json"
    assert json.loads(ready.read_text())["lock"] == ["tinydep==1.0"]
    before = ready.stat().st_mtime_ns
    started = time.monotonic()
    assert build_env(envs, ("tinydep==1.0",)) == python
    assert time.monotonic() - started < 0.5 and ready.stat().st_mtime_ns == before


def test_a_lock_that_cannot_be_built_is_an_error_with_uvs_reason(tmp_path, uv_offline):
    envs = tmp_path / "envs"
    with pytest.raises(EnvBuildError, match="tinydep") as caught:
        build_env(envs, ("tinydep==9.9",), ref="pinned@2.0.0")
    assert "pinned@2.0.0" in caught.value.message and "\n" not in caught.value.message
    assert not (envs / lock_hash(("tinydep==9.9",)) / "ready.json").exists()


def test_a_version_with_another_lock_runs_in_its_own_interpreter(keep, uv_offline):
    needs = keep.serving_needs("pinned@1.0.0")
    assert needs.lock == ("tinydep==1.0",) and needs.envs_dir.endswith("envs")
    placer = _placer(keep)
    model = placer.load("pinned@1.0.0")
    try:
        assert placer.placements["pinned@1.0.0"].mode == "worker"
        outputs = model.predict({"x": [1]})
        assert outputs["tinydep"] == "1.0"
        assert outputs["prefix"] != sys.prefix
        assert outputs["prefix"].startswith(needs.envs_dir)
        # the model's own error comes back as the same error, and the worker stays
        pid = model.info["pid"]
        with pytest.raises(LoaderFailedError, match="seven is not allowed"):
            model.predict({"x": [7]})
        # inputs checked against the signature inside the worker, refused as in-process
        with pytest.raises(Exception, match="x"):
            model.predict({"y": [1]})
        assert model.predict({"x": [2]})["tinydep"] == "1.0" and model.restarts == 0
        assert model.info["pid"] == pid
    finally:
        model.close()


def test_environment_variables_put_a_version_in_a_worker_of_the_gateways_interpreter(keep):
    assert place(keep.serving_needs("reports@1.0.0"), DeployConfig()).mode == "in-process"
    model = _placer(keep, DeployConfig(environment={"FOO": "bar"})).load("reports@1.0.0")
    try:
        outputs = model.predict({"x": [1]})
        assert outputs == {"prefix": sys.prefix, "foo": "bar", "tinydep": None}
    finally:
        model.close()


def test_a_hung_worker_is_killed_after_the_timeout_and_replaced(keep):
    model = _placer(keep, DeployConfig(isolation="process", timeout=1.0)).load("slow@1.0.0")
    try:
        first = model.info["pid"]
        started = time.monotonic()
        with pytest.raises(PredictionTimeoutError, match="killed"):
            model.predict({"sleep": [30.0]})
        assert time.monotonic() - started < 3
        with pytest.raises(ProcessLookupError):
            import os

            os.kill(first, 0)
        # while the replacement loads, a request waits for it at most the timeout
        deadline = time.monotonic() + 60
        while model.restarts == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert model.restarts == 1
        assert model.predict({"sleep": [0.0]}) == {"slept": 0.0}
    finally:
        model.close()


def test_a_version_whose_env_cannot_be_built_fails_to_load_with_the_reason(keep, tmp_path,
                                                                          monkeypatch):
    wheels = tmp_path / "empty"
    wheels.mkdir()
    offline_uv(monkeypatch, wheels, tmp_path / "uv-cache")
    needs = ServingNeeds("pinned@1.0.0", ("tinydep==1.0",), str(tmp_path / "envs"))
    with pytest.raises(EnvBuildError, match="cannot build the environment of pinned@1.0.0"):
        place(needs, DeployConfig())


def test_references_to_the_gateways_environment_are_expanded_only_in_the_worker():
    from modelkeep.gateway.placement import expand

    outside = {"TOKEN": "s3cret", "HOME": "/root"}
    assert expand({"A": "${TOKEN}", "B": "x-${HOME}-${UNSET}", "C": "$TOKEN", "D": "${1X}"},
                  outside) == {"A": "s3cret", "B": "x-/root-", "C": "$TOKEN", "D": "${1X}"}


def test_a_worker_opens_a_keep_on_postgresql(pg_url, tmp_path):
    """A keep whose metadata is on PostgreSQL, opened by its folder and by its database URL:
    the worker opens the same keep either way."""
    Keep.init(tmp_path / "pgproject", database_url=pg_url).close()
    store = tmp_path / "pgproject" / ".modelkeep" / "objects"
    k = Keep.open(pg_url, store=store)
    try:
        register_python(k, "reports", tmp_path / "pgproject" / "reports", REPORTS, None,
                        SIGNATURE.format(name="reports", lock=""))
        assert k.serving_needs("reports@1.0.0").reopen_env["MODELKEEP_KEEP"] == pg_url
        model = _placer(k, DeployConfig(environment={"FOO": "pg"})).load("reports@1.0.0")
        try:
            assert model.predict({"x": [1]})["foo"] == "pg"
        finally:
            model.close()
    finally:
        k.close()


def test_a_worker_that_dies_mid_request_is_an_error_and_is_replaced(keep):
    from modelkeep.errors import WorkerFailedError

    model = _placer(keep, DeployConfig(isolation="process")).load("dies@1.0.0")
    try:
        first = model.predict({"x": [1]})["pid"]
        with pytest.raises(WorkerFailedError, match="exited"):
            model.predict({"x": [3]})
        deadline = time.monotonic() + 60
        while model.restarts == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert model.predict({"x": [1]})["pid"] != first
    finally:
        model.close()


def test_without_uv_a_build_is_an_error_naming_the_extra(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_uv(name, *args, **kwargs):
        if name == "uv":
            raise ImportError("no uv")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_uv)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EnvBuildError, match="uv is not installed") as caught:
        build_env(tmp_path / "envs", ("tinydep==1.0",))
    assert "modelkeep[gateway]" in caught.value.hint
