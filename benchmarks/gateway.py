"""Issue 11 benchmark: ``modelkeep gateway`` against the same model in a bare Starlette app.

Run: python benchmarks/gateway.py [--seconds 8] [--connections 8] [--rounds 3] [--dir DIR]

One run, on loopback, with wrk (Debian's ``wrk``) pinned to core 0 and every server pinned to
core 1 (this script pins itself to core 0 too). The model is trivial (``{"y": 2x}`` on three
numbers), registered twice (1.0.0, 1.0.1) as a python entry point. Each row is wrk for
``--seconds`` after a 1 s warm-up, at 1 connection (latency: one request at a time) and at
``--connections`` (throughput: the server core saturated).

The targets are judged over ``--rounds`` rounds: the bare app and the gateway both run, and
each round measures bare, bare with the model in threads, gateway, gateway inline, in turn,
so a shared machine's drift falls on all alike; each round's ratios are printed and their
median is the figure:

* bare: the same function in an ``async`` Starlette endpoint on uvicorn, on a listening socket
  made as the gateway makes its own (the baseline of the targets);
* bare with the model in Starlette's threads (``run_in_threadpool``, what Starlette does with a
  ``def`` endpoint): for context only, what a bare app pays to keep blocking code off its loop;
* gateway: ``modelkeep gateway`` serving ``bench@1.0.0`` (its default path: the model in a
  worker thread with a timeout); also its per-response overhead header
  (``X-Modelkeep-Overhead-Ms``: time spent outside the model), p50 and p99;
* gateway, inline version: the same gateway answering ``inline@1.0.0``, the same model
  deployed ``isolation: inline`` (opt-in: called on the event loop, no thread hop, no
  timeout; a hang blocks the gateway), reported beside the default path, never instead.

Each single-process row at ``--connections`` also reports the server's CPU time per request
(user + system, all its threads, from /proc): on a shared machine the request rate follows
what the other tenants leave of the server core, and a process with more busy threads gets a
larger share of it, while the CPU time a request costs moves much less. "From CPU time" is
the throughput ratio a saturated, otherwise idle server core would show.

Then, once each:

* gateway with a 10% shadow (``deploy bench@1.0.1 --shadow --shadow-percent 10``), and the bare
  row right after it;
* rollback under steady load: wrk at ``--connections`` on the gateway serving 1.0.1 while
  ``modelkeep rollback bench`` runs, and a probe (one keep-alive connection, back to back)
  noting which version answered each request: the time from launching the command to the
  first probe request after which every answer came from 1.0.0, and every failed request;
* the bare app started as usual, ``uvicorn bare_app:app``, which binds its own socket;
* gateway ``--workers 2`` and bare ``uvicorn --workers 2`` (both on the one server core: this
  shows what the extra process costs, and whether the ~44 ms stall of uvicorn#3149 appears).

The figures go to docs/benchmarks.md by hand, with the date, the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine  # noqa: E402

from modelkeep.keep import Keep  # noqa: E402
from modelkeep.registry.deploy_config import DeployConfig  # noqa: E402
from modelkeep.schema.loading import with_loader  # noqa: E402

LOAD_CORE, SERVER_CORE = "0", "1"
BODY = {"inputs": {"x": [1, 2, 3]}}
MODEL = '''
TAG = "{tag}"


def run(inputs):
    return {{"y": [2 * v for v in inputs["x"]], "tag": TAG}}
'''
BARE_APP = '''
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from predict import run


async def predict(request: Request) -> JSONResponse:
    payload = await request.json()
    return JSONResponse({"outputs": run(payload["inputs"])})


async def predict_in_thread(request: Request) -> JSONResponse:
    # the model in Starlette's thread pool, as Starlette runs a def endpoint (which cannot
    # read the body itself): what a bare app does with blocking code
    payload = await request.json()
    return JSONResponse({"outputs": await run_in_threadpool(run, payload["inputs"])})


app = Starlette(routes=[Route("/v1/models/bench/predict", predict, methods=["POST"]),
                        Route("/thread/v1/models/bench/predict", predict_in_thread,
                              methods=["POST"])])
'''
# the bare app served on a listening socket made as the gateway makes its own (serve.listen:
# proto IPPROTO_TCP, so asyncio sets TCP_NODELAY), so the two differ only in the app
BARE_RUNNER = '''
import socket
import sys

import uvicorn

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", int(sys.argv[1])))
sock.listen(2048)
config = uvicorn.Config("bare_app:app", lifespan="on", log_level="warning", access_log=False)
uvicorn.Server(config).run(sockets=[sock])
'''
# wrk's Lua: POST the body; collect the gateway's overhead header; print one JSON line at the end
WRK_LUA = r'''
wrk.method = "POST"
wrk.body = '@BODY@'
wrk.headers["Content-Type"] = "application/json"
local threads = {}
function setup(thread) table.insert(threads, thread) end
overheads = {}
function response(status, headers, body)
  local o = headers["x-modelkeep-overhead-ms"] or headers["X-Modelkeep-Overhead-Ms"]
  if o then overheads[#overheads + 1] = tonumber(o) end
end
function done(summary, latency, requests)
  local o = {}
  for _, t in ipairs(threads) do
    for _, v in ipairs(t:get("overheads")) do o[#o + 1] = v end
  end
  table.sort(o)
  local function at(p) if #o == 0 then return -1 end return o[math.max(1, math.ceil(#o * p))] end
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %d, "seconds": %f, "p50_ms": %f, "p99_ms": %f, ' ..
    '"mean_ms": %f, "socket_errors": %d, "non_2xx": %d, "overhead_p50_ms": %f, ' ..
    '"overhead_p99_ms": %f}\n', summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.mean / 1000,
    e.connect + e.read + e.write + e.timeout, e.status, at(0.5), at(0.99)))
end
'''.replace("@BODY@", json.dumps(BODY))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_keep(root: Path) -> Keep:
    """A keep with bench@1.0.0 and bench@1.0.1 (python entry points, inferred signature), and
    inline@1.0.0 (the model of bench@1.0.1, deployed ``isolation: inline``)."""
    keep = Keep.init(root)
    for tag in ("one", "two"):
        folder = root / "bench"
        folder.mkdir(exist_ok=True)
        (folder / "predict.py").write_text(textwrap.dedent(MODEL.format(tag=tag)))
        (folder / "example.json").write_text(json.dumps(BODY["inputs"]))
        keep.register("bench", folder, metadata=with_loader(None, "bench", "python:predict:run",
                                                            "example.json"))
    keep.deploy("bench@1.0.0", force=True, reason="benchmark")
    # the same model again, deployed inline (opt-in: called on the event loop, no timeout)
    keep.register("inline", folder, metadata=with_loader(None, "inline", "python:predict:run",
                                                         "example.json"))
    keep.deploy("inline@1.0.0", force=True, reason="benchmark",
                config=DeployConfig(isolation="inline"))
    return keep


class Server:
    """A server process pinned to the server core, on ``port``, stopped with SIGTERM."""

    def __init__(self, args: list[str], port: int, cwd: Path, env: dict[str, str] | None = None):
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(["taskset", "-c", SERVER_CORE, *args], cwd=cwd,
                                     env={**os.environ, **(env or {})},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.post(f"{self.url}/v1/models/bench/predict", json=BODY).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited: {self.proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
        raise SystemExit("server did not answer within 60 s")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def wrk(url: str, connections: int, seconds: float, script: Path, model: str = "bench") -> dict:
    """One wrk run on the load core; its RESULT line as a dict."""
    out = subprocess.run(["taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}",
                          f"-d{seconds:g}s", "--latency", "-s", str(script),
                          f"{url}/v1/models/{model}/predict"],
                         capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    result = json.loads(line[len("RESULT "):])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(label: str, url: str, args: argparse.Namespace, script: Path,
            model: str = "bench", pid: int | None = None) -> dict:
    """Warm up, then the latency row (1 connection) and the throughput row; with ``pid`` (a
    one-process server), also the server's CPU time per request in the throughput row, which
    a busy shared machine moves far less than the request rate."""
    wrk(url, args.connections, 1, script, model)
    rows = {"label": label, "c1": wrk(url, 1, args.seconds, script, model)}
    before = cpu_seconds(pid) if pid else 0.0
    rows["cN"] = wrk(url, args.connections, args.seconds, script, model)
    if pid:
        rows["cN"]["cpu_us"] = (cpu_seconds(pid) - before) / rows["cN"]["requests"] * 1e6
    for key in ("c1", "cN"):
        r = rows[key]
        cpu = f"  cpu {r['cpu_us']:.0f} us/request" if "cpu_us" in r else ""
        print(f"{label:34} {key:3} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:7.3f} ms  "
              f"p99 {r['p99_ms']:7.3f} ms  overhead p50 {r['overhead_p50_ms']:.3f} "
              f"p99 {r['overhead_p99_ms']:.3f} ms  failed {r['socket_errors'] + r['non_2xx']}{cpu}",
              flush=True)
    return rows


def wait_revision(url: str, keep: Keep) -> None:
    revision = keep.deployment_revision()
    deadline = time.monotonic() + 30
    while httpx.get(f"{url}/v1/models").json()["revision"] != revision:
        if time.monotonic() > deadline:
            raise SystemExit("the gateway did not pick up the deployment change")
        time.sleep(0.05)
    while any(v["status"] == "loading" for v in httpx.get(f"{url}/healthz").json()["versions"]):
        time.sleep(0.05)


def rollback_under_load(url: str, root: Path, args: argparse.Namespace, script: Path) -> dict:
    """Serving 1.0.1 (1.0.0 the stable version before it) under wrk; ``modelkeep rollback``
    after 2 s; a probe notes (start time, version, status) of each of its requests."""
    probes: list[tuple[float, str, int]] = []
    stop = threading.Event()

    def probe() -> None:
        with httpx.Client(base_url=url) as client:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    r = client.post("/v1/models/bench/predict", json=BODY)
                    probes.append((started, r.headers.get("x-modelkeep-version", ""), r.status_code))
                except httpx.TransportError:
                    probes.append((started, "", 0))

    load = threading.Thread(target=lambda: results.append(wrk(url, args.connections, 6, script)))
    results: list[dict] = []
    prober = threading.Thread(target=probe)
    load.start()
    prober.start()
    time.sleep(2)
    launched = time.monotonic()
    subprocess.run([sys.executable, "-m", "modelkeep", "--keep", str(root), "rollback", "bench",
                    "--reason", "benchmark"], check=True, capture_output=True)
    returned = time.monotonic()
    time.sleep(2)
    stop.set()
    prober.join()
    load.join()
    after = [p for p in probes if p[0] >= launched]
    last_new = max((p[0] for p in after if p[1] != "1.0.0"), default=launched)
    on_stable = next((p[0] for p in after if p[0] > last_new), None)
    failed = sum(p[2] != 200 for p in probes)
    r = results[0]
    row = {"command_s": returned - launched,
           "to_stable_s": (on_stable - launched) if on_stable else None,
           "to_stable_after_command_s": (on_stable - returned) if on_stable else None,
           "probe_requests": len(probes), "probe_failed": failed,
           "wrk_requests": r["requests"], "wrk_failed": r["socket_errors"] + r["non_2xx"],
           "rps": r["rps"]}
    print(f"rollback under load: command {row['command_s'] * 1000:.0f} ms; 100% on 1.0.0 "
          f"{(row['to_stable_s'] or -1) * 1000:.0f} ms after launching it "
          f"({(row['to_stable_after_command_s'] or -1) * 1000:.0f} ms after it returned); "
          f"failed: wrk {row['wrk_failed']} of {r['requests']}, probe {failed} of {len(probes)}",
          flush=True)
    return row


def ratios(gateway: dict, bare: dict) -> dict:
    """The targets' figures of one round: p50 overhead (ms, 1 connection), throughput ratio
    (N connections), p99 ratios (1 and N connections), and the throughput ratio a saturated
    server core would give, from the CPU time each server spent per request."""
    return {"p50_plus_ms": gateway["c1"]["p50_ms"] - bare["c1"]["p50_ms"],
            "throughput": gateway["cN"]["rps"] / bare["cN"]["rps"],
            "p99_c1": gateway["c1"]["p99_ms"] / bare["c1"]["p99_ms"],
            "p99_cN": gateway["cN"]["p99_ms"] / bare["cN"]["p99_ms"],
            "cpu": bare["cN"]["cpu_us"] / gateway["cN"]["cpu_us"]}


def summary(label: str, rounds: list[dict], connections: int) -> None:
    """One line per round and the median of each ratio over the rounds."""
    print(f"{label}:")
    for i, r in enumerate(rounds, 1):
        print(f"  round {i}: p50 {r['p50_plus_ms']:+.3f} ms, throughput {r['throughput']:.2f}x "
              f"(from CPU time {r['cpu']:.2f}x), p99 {r['p99_c1']:.2f}x (1 connection), "
              f"{r['p99_cN']:.2f}x ({connections})")
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    print(f"  median of {len(rounds)}: p50 {med['p50_plus_ms']:+.3f} ms (target < 1 ms), "
          f"throughput {med['throughput']:.2f}x (target >= 0.8x; from CPU time "
          f"{med['cpu']:.2f}x), p99 {med['p99_c1']:.2f}x "
          f"(1 connection; target <= 2x), {med['p99_cN']:.2f}x ({connections} connections)",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3,
                        help="bare and gateway rows measured in turn this many times")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    os.sched_setaffinity(0, {int(LOAD_CORE)})
    work = Path(tempfile.mkdtemp(prefix="bench-gateway-", dir=args.dir))
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {machine()}; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    script = work / "post.lua"
    script.write_text(WRK_LUA)
    root = work / "keep"
    keep = make_keep(root)
    (work / "bare").mkdir()
    shutil.copy(root / "bench" / "predict.py", work / "bare" / "predict.py")
    (work / "bare" / "bare_app.py").write_text(BARE_APP)
    (work / "bare" / "bare_runner.py").write_text(BARE_RUNNER)
    runner = [sys.executable, "bare_runner.py"]
    uvicorn = [sys.executable, "-m", "uvicorn", "bare_app:app", "--host", "127.0.0.1",
               "--log-level", "warning", "--no-access-log"]
    gateway = [sys.executable, "-m", "modelkeep", "--keep", str(root), "gateway"]
    results: dict = {"load_before": os.getloadavg(), "rounds": []}
    try:
        # the headline: bare and gateway in turn, both servers up (idle while the other is
        # measured), so a shared machine's drift falls on both alike
        port = free_port()
        bare = Server([*runner, str(port)], port, work / "bare")
        port = free_port()
        gw = Server([*gateway, "--port", str(port)], port, work)
        try:
            wait_revision(gw.url, keep)  # the inline version loaded too
            for i in range(args.rounds):
                print(f"round {i + 1} of {args.rounds}; load average "
                      f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
                one = {"load": os.getloadavg(),
                       "bare": measure("bare Starlette + uvicorn", bare.url, args, script,
                                       pid=bare.proc.pid),
                       "bare_thread": measure("bare, model in Starlette's threads",
                                              f"{bare.url}/thread", args, script,
                                              pid=bare.proc.pid),
                       "gateway": measure("modelkeep gateway", gw.url, args, script,
                                          pid=gw.proc.pid),
                       "inline": measure("gateway, inline version (opt-in)", gw.url, args,
                                         script, "inline", pid=gw.proc.pid)}
                one["ratios"] = ratios(one["gateway"], one["bare"])
                one["thread_ratios"] = ratios(one["bare_thread"], one["bare"])
                one["inline_ratios"] = ratios(one["inline"], one["bare"])
                results["rounds"].append(one)
            keep.deploy("bench@1.0.1", shadow=True, shadow_percent=10.0, force=True,
                        reason="benchmark")
            wait_revision(gw.url, keep)
            results["shadow"] = measure("gateway, 10% shadow", gw.url, args, script,
                                        pid=gw.proc.pid)
            results["shadow_bare"] = measure("bare Starlette + uvicorn", bare.url, args, script,
                                             pid=bare.proc.pid)
            keep.change_deployment("bench", "abort", "benchmark")
            keep.deploy("bench@1.0.1", force=True, reason="benchmark")
            wait_revision(gw.url, keep)
            results["rollback"] = rollback_under_load(gw.url, root, args, script)
        finally:
            gw.stop()
            bare.stop()

        port = free_port()
        bare = Server([*uvicorn, "--port", str(port)], port, work / "bare")
        try:
            results["bare_cli"] = measure("bare, uvicorn's own socket", bare.url, args, script)
        finally:
            bare.stop()
        port = free_port()
        gw = Server([*gateway, "--port", str(port), "--workers", "2"], port, work)
        try:
            results["gateway_workers"] = measure("modelkeep gateway --workers 2", gw.url, args,
                                                 script)
        finally:
            gw.stop()
        port = free_port()
        bare = Server([*uvicorn, "--port", str(port), "--workers", "2"], port, work / "bare")
        try:
            results["bare_workers"] = measure("bare uvicorn --workers 2", bare.url, args, script)
        finally:
            bare.stop()
    finally:
        keep.close()
    results["load_after"] = os.getloadavg()
    summary("gateway / bare (the targets)", [r["ratios"] for r in results["rounds"]],
            args.connections)
    summary("opt-in: gateway, version deployed inline / bare",
            [r["inline_ratios"] for r in results["rounds"]], args.connections)
    summary("for context, bare with the model in Starlette's threads / bare",
            [r["thread_ratios"] for r in results["rounds"]], args.connections)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in results['load_after'])}")
    (work / "results.json").write_text(json.dumps(results, indent=2))
    print(f"results: {work / 'results.json'}")


if __name__ == "__main__":
    main()
