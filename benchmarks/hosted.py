"""Issue 12 benchmark: the gateway's added latency on the hosted-model path, and budget
overshoot under 64 concurrent clients.

Run: python benchmarks/hosted.py [--requests 2000] [--rounds 5] [--pin] [--skip-budget]

Latency: a fake OpenAI-compatible provider (tests/fake_provider.py, its own process) and one
``modelkeep gateway`` process serving a hosted version of it. One keep-alive client sends, in
alternation (direct first in even pairs, the gateway first in odd ones), a chat completion
straight to the provider and the same request through the gateway (``POST
/v1/chat/completions``, non-streaming, no budget), after 200 warm-up pairs. Each of
``--rounds`` rounds prints its medians and their difference (the added latency), so a noisy
round shows as one; the headline is the median of all samples and the median of the rounds'
differences. Beside them: the gateway's own ``X-Modelkeep-Overhead-Ms`` (time outside the
upstream call), and the CPU each process spent per request (less load-dependent than the
latency). Target: under 2 ms added at p50. The three processes share 2 cores: the cores each
may run on are printed; ``--pin`` puts the gateway on core 1 and the client and the provider on
core 0 (they never run at once: the client waits for the answer). Pin only on a quiet machine:
on a shared one a pinned process waits for its core while other work runs there.

Outbound hop: in this process, against the same provider, the gateway's upstream client
(``Upstream.complete``: http1.py, with its retries and checks) and an ``httpx.AsyncClient``
set up as the gateway's was before it (pooled, TCP_NODELAY, trust_env off), call by call in
alternation: the reason the gateway no longer uses httpx for upstream calls.

Budget: three gateway processes on one SQLite keep, then on PostgreSQL when it is reachable, a
hosted version at 0.01 USD a call with a 0.30 USD budget, the provider answering after 50 ms
so that many calls are in flight at the budget's edge, and 64 concurrent clients sending until
refused. Overshoot = spent - budget; it must be at most the calls in flight (and is 0 when the
worst case is reserved first).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))
sys.path[:0] = [str(Path(__file__).parents[1] / "tests" / sub) for sub in ("", "gateway", "storage")]
from _common import machine  # noqa: E402
from budget_race import budget_run  # noqa: E402
from fake_provider import FakeProvider  # noqa: E402
from gateway_process import GatewayProcess  # noqa: E402
from hosted_support import KEY, KEY_ENV, hosted_keep  # noqa: E402

BODY = {"model": "chat", "messages": [{"role": "user", "content": "how long does this take"}]}
WARM_UP = 200


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def cores(pid: int) -> str:
    return ",".join(str(c) for c in sorted(os.sched_getaffinity(pid)))


def latency(work: Path, requests: int, rounds: int, pin: bool) -> None:
    import httpx

    provider = FakeProvider(key=KEY)
    keep = hosted_keep(work / "lat" / "project", provider.url)
    keep.deploy("chat@1.0.0")
    gw = GatewayProcess(keep.settings.root, env={KEY_ENV: KEY})
    try:
        gw.wait_ready()
        if pin and (os.cpu_count() or 1) >= 2:
            for pid, core in ((0, 0), (provider.proc.pid, 0), (gw.proc.pid, 1)):
                os.sched_setaffinity(pid, {core})
        print(f"cores: client {cores(0)}, gateway {cores(gw.proc.pid)}, provider "
              f"{cores(provider.proc.pid)}{' (pinned)' if pin else ' (not pinned)'}")
        gateway_proc, provider_proc = psutil.Process(gw.proc.pid), psutil.Process(provider.proc.pid)
        direct_url = f"{provider.url}/chat/completions"
        upstream_body = {**BODY, "model": "fake-small", "max_tokens": 16}
        headers = {"Authorization": f"Bearer {KEY}"}
        direct, through, overhead, diffs = [], [], [], []
        gateway_cpu = provider_cpu = 0.0
        with httpx.Client(timeout=10) as client:
            def one_direct() -> float:
                started = time.perf_counter()
                client.post(direct_url, json=upstream_body, headers=headers).raise_for_status()
                return (time.perf_counter() - started) * 1000

            def one_through() -> tuple[float, float]:
                started = time.perf_counter()
                response = client.post(f"{gw.url}/v1/chat/completions", json=BODY)
                ms = (time.perf_counter() - started) * 1000
                response.raise_for_status()
                return ms, float(response.headers["X-Modelkeep-Overhead-Ms"])

            for _ in range(WARM_UP):  # connections, caches and bytecode
                one_direct()
                one_through()
            per_round = max(1, requests // rounds)
            print(f"{rounds} rounds of {per_round} pairs (ms): direct p50 | through p50 | added "
                  "| gateway's own p50 | CPU per request: gateway, provider")
            for r in range(rounds):
                d, t, o = [], [], []
                g0, p0 = cpu_seconds(gateway_proc), cpu_seconds(provider_proc)
                for n in range(per_round):
                    if n % 2:
                        ms, own = one_through()
                        d.append(one_direct())
                    else:
                        d.append(one_direct())
                        ms, own = one_through()
                    t.append(ms)
                    o.append(own)
                g, p = cpu_seconds(gateway_proc) - g0, cpu_seconds(provider_proc) - p0
                gateway_cpu += g
                provider_cpu += p
                diffs.append(statistics.median(t) - statistics.median(d))
                print(f"  round {r + 1}: {statistics.median(d):.3f} | {statistics.median(t):.3f}"
                      f" | {diffs[-1]:+.3f} | {statistics.median(o):.3f} | "
                      f"{g / per_round * 1000:.3f}, {p / (2 * per_round) * 1000:.3f}")
                direct += d
                through += t
                overhead += o
    finally:
        gw.stop()
        provider.stop()
        keep.close()
    added = statistics.median(through) - statistics.median(direct)
    print(f"latency over {len(direct)} pairs (ms): direct p50 {statistics.median(direct):.3f} "
          f"p99 {pct(direct, 0.99):.3f}; through the gateway p50 {statistics.median(through):.3f} "
          f"p99 {pct(through, 0.99):.3f}")
    print(f"  added by the gateway at p50: {added:.3f} ms (target < 2 ms); median of the rounds' "
          f"differences {statistics.median(diffs):+.3f} (range {min(diffs):+.3f} to "
          f"{max(diffs):+.3f}); its own X-Modelkeep-Overhead-Ms p50 "
          f"{statistics.median(overhead):.3f} p99 {pct(overhead, 0.99):.3f}")
    print(f"  CPU per request: gateway {gateway_cpu / len(through) * 1000:.3f} ms, provider "
          f"{provider_cpu / (2 * len(direct)) * 1000:.3f} ms")


def outbound_hop(calls: int, rounds: int) -> None:
    """The gateway's upstream client against httpx.AsyncClient, in this process."""
    import httpx

    from modelkeep.gateway.upstream import Upstream
    from modelkeep.registry.hosted import HostedSpec, Price
    from modelkeep.registry.loaders.hosted import HostedModel, Provider, request_body

    os.environ[KEY_ENV] = KEY
    provider = FakeProvider(key=KEY)
    spec = HostedSpec("fake", "fake-small", Price("USD"), max_tokens=16)
    model = HostedModel("chat@1.0.0", spec, Provider("fake", provider.url, KEY_ENV))
    body = request_body(spec, {"messages": BODY["messages"]})

    async def run() -> dict[str, tuple[list[float], float]]:
        upstream = Upstream()
        transport = httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_connections=512, max_keepalive_connections=512),
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        client = httpx.AsyncClient(transport=transport, trust_env=False, follow_redirects=False)

        async def lean() -> None:
            await upstream.complete(model, body)

        async def with_httpx() -> None:
            response = await client.post(model.provider.chat_url, json=body,
                                         headers=model.provider.headers(),
                                         timeout=model.provider.timeout)
            response.raise_for_status()
            response.json()

        found: dict[str, tuple[list[float], float]] = {"lean": ([], 0.0), "httpx": ([], 0.0)}
        for n in range(WARM_UP + calls):
            for name, call in ((("lean", lean), ("httpx", with_httpx)) if n % 2
                               else (("httpx", with_httpx), ("lean", lean))):
                cpu, started = time.process_time(), time.perf_counter()
                await call()
                if n >= WARM_UP:
                    samples, spent = found[name]
                    samples.append((time.perf_counter() - started) * 1000)
                    found[name] = samples, spent + time.process_time() - cpu
        await client.aclose()
        await upstream.close()
        return found

    try:
        found = asyncio.run(run())
    finally:
        provider.stop()
    (lean_ms, lean_cpu), (httpx_ms, httpx_cpu) = found["lean"], found["httpx"]
    print(f"outbound hop over {calls} calls each, alternating (ms): gateway's client (http1.py) "
          f"p50 {statistics.median(lean_ms):.3f}, CPU {lean_cpu / calls * 1000:.3f} per call; "
          f"httpx.AsyncClient p50 {statistics.median(httpx_ms):.3f}, CPU "
          f"{httpx_cpu / calls * 1000:.3f} per call; "
          f"{statistics.median(httpx_ms) / statistics.median(lean_ms):.2f}x the latency")


def overshoot(work: Path, database_url: str | None, label: str) -> None:
    run = budget_run(work / label / "project", database_url)
    result, budget = run.race, run.budget
    over = budget.spent_micros - budget.limit_micros
    print(f"budget on {label}: 64 clients, 3 gateways, {run.seconds:.2f} s: {result.ok} answered "
          f"({run.upstream_calls} upstream calls), {result.statuses.get(402, 0)} refused, at most "
          f"{result.max_in_flight} in flight; spent {budget.spent_micros / 1e6:.2f} of "
          f"{budget.limit_micros / 1e6:.2f} USD, overshoot {max(over, 0) / 1e6:.2f} USD = "
          f"{max(over, 0) // 10_000} calls (bound: {result.max_in_flight} calls), "
          f"reserved left {budget.reserved_micros}")


def _pg_url() -> str | None:
    try:
        import psycopg

        admin = os.environ.get("MODELKEEP_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
        name = f"mk_bench_{os.getpid()}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        return admin.rsplit("/", 1)[0] + f"/{name}"
    except Exception as exc:  # no server: the SQLite figure stands alone
        print(f"(PostgreSQL not reachable: {type(exc).__name__})")
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pin", action="store_true",
                        help="gateway on core 1, client and provider on core 0")
    parser.add_argument("--skip-budget", action="store_true", help="latency only")
    args = parser.parse_args()
    print(machine())
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="mk-bench-hosted-") as tmp:
        work = Path(tmp)
        latency(work, args.requests, args.rounds, args.pin)
        outbound_hop(max(100, args.requests // 2), args.rounds)
        if not args.skip_budget:
            overshoot(work, None, "sqlite")
            url = _pg_url()
            if url:
                overshoot(work, url, "postgresql")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
