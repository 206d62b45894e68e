"""The demo's serving block: a gateway in the background, a shadow test, an A/B test, a canary
of a bad release that its gate aborts, a rollback (docs/gateway.md), and a hosted model in an
A/B test with its cost (demo_hosted.py, docs/hosted.md).

The gateway is a real ``modelkeep gateway`` process on a free loopback port; the deploy
commands run in-process like the demo's other steps, and the requests are plain HTTP.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from modelkeep.cli import _demo_project as project
from modelkeep.cli.demo_hosted import hosted_ab_step
from modelkeep.interface import KeepInterface

NAME = project.NAME
BROKEN = '''\
"""1.1.0: a release whose new preprocessing divides by zero on every request."""


def predict(inputs):
    scale = 0.0
    return {"probability": [v / scale for v in inputs["x1"]]}
'''


class Client:
    """A keep-alive HTTP connection to the gateway."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str, body: Any = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
        data = None if body is None else json.dumps(body).encode()
        self.conn.request(method, path, body=data, headers={"Content-Type": "application/json",
                                                            **(headers or {})})
        response = self.conn.getresponse()
        text = response.read()
        return response.status, dict(response.getheaders()), json.loads(text) if text else None

    def predict(self, inputs: Any, **headers: str) -> tuple[int, dict[str, str], Any]:
        return self.call("POST", f"/v1/models/{NAME}/predict", {"inputs": inputs}, headers)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _gateway(root: Path, env: dict[str, str] | None = None) -> Iterator[Client]:
    """``modelkeep gateway`` in the background until the block ends (SIGTERM, then kill);
    ``env``: variables added to its environment (a provider's key)."""
    port = _free_port()
    click.secho(f"$ modelkeep gateway --port {port} --poll-interval 0.1 &", fg="green")
    proc = subprocess.Popen([sys.executable, "-m", "modelkeep", "--keep", str(root), "gateway",
                             "--port", str(port), "--poll-interval", "0.1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})
    try:
        client = _wait_healthy(proc, port)
        click.echo(f"gateway serving on http://127.0.0.1:{port} (pid {proc.pid})")
        yield client
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def _wait_healthy(proc: subprocess.Popen[bytes], port: int) -> Client:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise click.ClickException("the gateway exited: " + (
                proc.stderr.read().decode(errors="replace")[-500:] if proc.stderr else ""))
        try:
            client = Client(port)
            status, _, body = client.call("GET", "/healthz")
            if status == 200 and all(v["status"] != "loading" for v in body["versions"]):
                return client
        except OSError:
            pass
        time.sleep(0.05)
    raise click.ClickException("the gateway did not start within 60 s")


def _wait(check: Callable[[], bool], what: str, timeout: float = 15.0) -> float:
    """Seconds until ``check()`` holds."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise click.ClickException(f"the demo waited {timeout:g} s for {what}")
        time.sleep(0.05)
    return time.monotonic() - started


def _synced(client: Client, keep: KeepInterface) -> Callable[[], bool]:
    """Whether the gateway applies the keep's latest deployment state, its versions loaded."""
    def check() -> bool:
        revision = keep.deployment_revision()
        models = client.call("GET", "/v1/models")[2]
        health = client.call("GET", "/healthz")[2]
        return bool(models["revision"] == revision
                    and all(v["status"] != "loading" for v in health["versions"]))
    return check


def _traffic(client: Client, count: int) -> Counter[str]:
    """``count`` requests from different users; how many each version answered (or failed)."""
    seen: Counter[str] = Counter()
    for i in range(count):
        inputs = {"x1": [0.1 * (i % 17) - 0.8], "x2": [0.05 * (i % 11)]}
        status, _, body = client.predict(inputs, **{"X-User-Id": f"user-{i}"})
        seen[f"{body['version']}" if status == 200 else f"{status} {body['error']['code']}"] += 1
    click.echo(f"{count} requests: " + ", ".join(f"{n} {what}" for what, n in seen.most_common()))
    return seen


@dataclass
class _Tour:
    """What every serving step uses: the demo's folder, its command runner and headings, the
    keep (to wait on its state) and the gateway's client."""

    root: Path
    run: Callable[..., None]
    say: Callable[[str], None]
    keep: KeepInterface
    client: Client

    def synced(self, what: str) -> None:
        _wait(_synced(self.client, self.keep), what)


def serving_steps(root: Path, run: Callable[..., None], say: Callable[[str], None],
                  open_keep: Callable[[Path], KeepInterface], first: int) -> None:
    """Steps ``first``.. of the demo: serve, shadow test, A/B test, a canary its gate aborts,
    rollback, a hosted model in an A/B test and its cost."""
    if importlib.util.find_spec("uvicorn") is None or importlib.util.find_spec("starlette") is None:
        say(f"{first}. Serving is left out: pip install 'modelkeep[gateway]' to see it")
        return
    keep = open_keep(root)
    try:
        say(f"{first}. Serve: 1.0.0 is what production ran before (never validated: forced, "
            "with the reason on record), then a gateway in the background answers over HTTP")
        run(root, "deploy", f"{NAME}@1.0.0", "--force", "--reason", "in production before modelkeep")
        with _gateway(root) as client:
            request = project.example_input(2)
            click.secho(f"$ curl -s localhost:{client.port}/v1/models/{NAME}/predict -d "
                        + shlex.quote(json.dumps({"inputs": request})), fg="green")
            click.echo(json.dumps(client.predict(request)[2]))
            tour = _Tour(root, run, say, keep, client)
            for step, stage in enumerate((_shadow_and_promote, _ab_test, _failed_canary,
                                          _rollback), start=first + 1):
                stage(tour, step)
        # a second gateway: it reads the new [providers.fake] table and has the key
        hosted_ab_step(root, first + 5, run, say, keep, lambda env: _gateway(root, env), _wait)
    finally:
        keep.close()


def _shadow_and_promote(tour: _Tour, step: int) -> None:
    root, run, client, keep = tour.root, tour.run, tour.client, tour.keep
    tour.say(f"{step}. Shadow test: 1.0.1 (validated in step 19) gets a copy of every request; "
        "users only ever see 1.0.0's answers. Then the report, and promote it")
    run(root, "deploy", NAME, "--shadow", "1.0.1")
    tour.synced("the gateway to start the shadow test")
    _traffic(client, 60)
    _wait(lambda: keep.shadow_report(NAME, 0.0).to_dict()["copies"] >= 60, "the shadow copies to be counted")
    run(root, "deploy", "shadow-report", NAME, "--tolerance", "0.05")
    run(root, "deploy", "promote", NAME, "--full", "--reason", "the shadow agreed")
    tour.synced("the gateway to serve 1.0.1")


def _ab_test(tour: _Tour, step: int) -> None:
    root, run, client, keep = tour.root, tour.run, tour.client, tour.keep
    tour.say(f"{step}. A/B test: each user sticks to arm A (1.0.0) or B (1.0.1); feedback sends a "
        "click (1) when the answer was right about the user (the test split's label), 0 when "
        "not; the report compares the arms with always-valid p-values; then B, the newer "
        "version, is made the winner")
    run(root, "deploy", NAME, "--ab", "A=1.0.0,B=1.0.1", "--split", "50/50", "--by",
        "header:X-User-Id")
    tour.synced("the gateway to start the A/B test")
    rows = (root / "data" / "test" / "data.csv").read_text().splitlines()[1:]
    arms: Counter[str] = Counter()
    for i, row in enumerate(rows):
        *features, label = row.split(",")
        inputs = {"x1": [float(features[0])], "x2": [float(features[1])]}
        status, _, body = client.predict(inputs, **{"X-User-Id": f"user-{i}"})
        arms[f"arm {body['arm']} ({body['version']})" if status == 200 else str(status)] += 1
        right = (body["outputs"]["probability"][0] > 0.5) == (label == "1")
        client.call("POST", "/v1/feedback", {"request_id": body["request_id"],
                                             "outcome": {"click": 1.0 if right else 0.0}})
    click.echo(f"{sum(arms.values())} users, one request and one click each: "
               + ", ".join(f"{n} on {arm}" for arm, n in sorted(arms.items())))
    _wait(lambda: _clicks_counted(keep) >= len(rows), "the clicks to be counted")
    run(root, "deploy", "report", NAME)
    run(root, "deploy", "end", NAME, "--winner", "B", "--reason", "the newer version")
    tour.synced("the gateway to serve the winner")


def _clicks_counted(keep: KeepInterface) -> int:
    """The clicks the keep has from every gateway so far, over both arms."""
    return sum(m["n"] for arm in keep.ab_report(NAME).to_dict()["arms"]
               for m in arm["metrics"] if m["metric"] == "outcome:click")


def _failed_canary(tour: _Tour, step: int) -> None:
    root, run, client, keep = tour.root, tour.run, tour.client, tour.keep
    tour.say(f"{step}. A bad release: 1.1.0 raises on every request. Its canary takes half the "
        "users; the error-rate gate sees it fail and aborts the rollout by itself")
    folder = root / "hotfix"
    folder.mkdir()
    (folder / "serve.py").write_text(BROKEN)
    (folder / "example.json").write_text(json.dumps(project.example_input(2)) + "\n")
    meta = project.write_metadata(root / "hotfix.yaml", 2)
    meta.write_text(meta.read_text().replace("'train:Classifier'", "'serve:predict'"))
    run(root, "register", NAME, "hotfix", "--version", "1.1.0", "--metadata", "hotfix.yaml")
    run(root, "deploy", f"{NAME}@1.1.0", "--canary", "--steps", "50,100", "--window", "0",
        "--min-requests", "20", "--force", "--reason", "demo: a release that fails")
    tour.synced("the gateway to start the canary")
    _traffic(client, 60)
    _wait(lambda: keep.deployment(NAME).active_rollout is None, "the gate to abort the canary")
    run(root, "deploy", "status", NAME)
    run(root, "deploy", "history", NAME)


def _rollback(tour: _Tour, step: int) -> None:
    root, run, client = tour.root, tour.run, tour.client
    tour.say(f"{step}. Rollback: 1.0.1 turns out to be wrong after all; all traffic goes back to "
        "1.0.0, which the gateway kept loaded, with no failed request")
    tour.synced("the gateway to apply the abort")
    started = time.monotonic()
    run(root, "rollback", NAME, "--reason", "demo: back to the version before")
    statuses: Counter[int] = Counter()

    def on_stable() -> bool:
        status, headers, _ = client.predict(project.example_input(2))
        statuses[status] += 1
        return headers.get("x-modelkeep-version") == "1.0.0"

    _wait(on_stable, "the rollback to reach the gateway")
    click.echo(f"answered by 1.0.0 {(time.monotonic() - started) * 1000:.0f} ms after the "
               f"command; requests meanwhile: "
               + ", ".join(f"{n} answered {status}" for status, n in sorted(statuses.items())))
    _traffic(client, 20)
