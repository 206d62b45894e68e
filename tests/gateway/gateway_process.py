"""A real ``modelkeep gateway`` process on a free loopback port, and the models it serves.

The models are python entry points whose code differs per version (``TAG``), so a test can
tell from the outputs which version's code answered, not only from the label the gateway puts
on the answer.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
from emulators import free_port
from support import pass_validation

from modelkeep.keep import Keep
from modelkeep.schema.formats import load_metadata
from modelkeep.schema.loading import with_loader

ECHO = '''
TAG = "{tag}"


def run(inputs):
    return {{"tag": TAG, "doubled": [2 * v for v in inputs["x"]]}}
'''
SLOW_TO_LOAD = '''
import os
import time

time.sleep(float(os.environ.get("TEST_LOAD_SECONDS", "0")))  # set in the gateway only


def run(inputs):
    return {{"tag": "{tag}", "doubled": [2 * v for v in inputs["x"]]}}
'''
FAILS_ON_SEVEN = '''
def run(inputs):
    if inputs["x"][0] == 7:
        raise ValueError("seven is not allowed")
    return {"tag": "seven-hater", "doubled": [2 * v for v in inputs["x"]]}
'''
SLOW = '''
import time


def run(inputs):
    time.sleep(inputs["sleep"][0])
    return {"slept": inputs["sleep"][0]}
'''
BROKEN = 'raise RuntimeError("the weights file is missing")\n'
BROKEN_META = """name: broken
version: 1.0.0
technical:
  signature:
    inputs: [{name: x, dtype: int64, shape: [-1]}]
"""


def register_python(keep: Keep, name: str, folder: Path, code: str, example: dict | None,
                    metadata_text: str | None = None) -> str:
    """Register ``code`` as ``predict.py`` with entry point ``predict:run`` (and an example
    input, or a metadata file declaring the signature), validated with the tests' passing
    policy so that it may be deployed; the version number."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "predict.py").write_text(textwrap.dedent(code))
    if example is not None:
        (folder / "example.json").write_text(json.dumps(example))
    meta = None
    if metadata_text is not None:
        (folder.parent / f"{name}.yaml").write_text(metadata_text)
        meta = load_metadata(folder.parent / f"{name}.yaml")
    meta = with_loader(meta, name, "python:predict:run", "example.json" if example else None)
    version = keep.register(name, folder, metadata=meta).version
    pass_validation(keep, f"{name}@{version}")
    return version


def make_keep(root: Path, database_url: str | None = None) -> Keep:
    """A keep with echo 1.0.0 and 1.0.1, slow 1.0.0 and broken 1.0.0 (fails to load)."""
    keep = Keep.init(root, database_url=database_url)
    register_python(keep, "echo", root / "echo", ECHO.format(tag="one"), {"x": [1, 2]})
    register_python(keep, "echo", root / "echo", ECHO.format(tag="two"), {"x": [1, 2]})
    register_python(keep, "slow", root / "slow", SLOW, {"sleep": [0.0]})
    register_python(keep, "broken", root / "broken", BROKEN, None, BROKEN_META)
    return keep


class GatewayProcess:
    """``python -m modelkeep gateway`` for ``root`` on a free port, stopped with SIGTERM."""

    def __init__(self, root: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, **(env or {}), "MODELKEEP_KEEP": str(root)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "modelkeep", "gateway", "--port", str(self.port), *args],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def wait_ready(self, timeout: float = 30.0) -> dict:
        """The first /healthz body once every version has been tried."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"gateway exited {self.proc.returncode}: {self.proc.stderr.read()}")
            try:
                response = self.client.get("/healthz")
                body = response.json()
                if response.status_code == 200 and all(v["status"] != "loading" for v in body["versions"]):
                    return body
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError("gateway did not become ready")

    def predict(self, name: str, inputs: object, **headers: str) -> httpx.Response:
        return self.client.post(f"/v1/models/{name}/predict", json={"inputs": inputs},
                                headers=headers)

    def wait_for(self, check, timeout: float = 10.0) -> float:
        """Seconds until ``check()`` is true (AssertionError after ``timeout``)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if check():
                return time.monotonic() - started
            time.sleep(0.02)
        raise AssertionError("condition not reached")

    def stop(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


class RecordedGateway(GatewayProcess):
    """A gateway whose stdout and stderr are read whole when it stops (``out``, ``err``), for
    tests that search them."""

    def stop(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.terminate()
        self.out, self.err = self.proc.communicate(timeout=15)
