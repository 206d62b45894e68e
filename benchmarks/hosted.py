"""Issue 12 benchmark: the gateway's added latency on the hosted-model path, and budget
overshoot under 64 concurrent clients.

Run: python benchmarks/hosted.py [--requests 2000]

Latency: a fake OpenAI-compatible provider (tests/fake_provider.py, its own process) and one
``modelkeep gateway`` process serving a hosted version of it. One keep-alive client sends, in
alternation, a chat completion straight to the provider and the same request through the
gateway (``POST /v1/chat/completions``, non-streaming, no budget); the added latency is the
difference of the medians, and the gateway's own ``X-Modelkeep-Overhead-Ms`` (time outside the
upstream call) is reported beside it. Target: under 2 ms at p50.

Budget: three gateway processes on one SQLite keep, then on PostgreSQL when it is reachable, a
hosted version at 0.01 USD a call with a 0.30 USD budget, the provider answering after 50 ms
so that many calls are in flight at the budget's edge, and 64 concurrent clients sending until
refused. Overshoot = spent - budget; it must be at most the calls in flight (and is 0 when the
worst case is reserved first).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path[:0] = [str(Path(__file__).parents[1] / "tests" / sub) for sub in ("", "gateway", "storage")]
from _common import machine  # noqa: E402
from budget_race import budget_run  # noqa: E402
from fake_provider import FakeProvider  # noqa: E402
from gateway_process import GatewayProcess  # noqa: E402
from hosted_support import KEY, KEY_ENV, hosted_keep  # noqa: E402

BODY = {"model": "chat", "messages": [{"role": "user", "content": "how long does this take"}]}


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency(work: Path, requests: int) -> None:
    import httpx

    provider = FakeProvider(key=KEY)
    keep = hosted_keep(work / "lat" / "project", provider.url)
    keep.deploy("chat@1.0.0")
    gw = GatewayProcess(keep.settings.root, env={KEY_ENV: KEY})
    try:
        gw.wait_ready()
        direct_url = f"{provider.url}/chat/completions"
        upstream_body = {**BODY, "model": "fake-small", "max_tokens": 16}
        direct, through, overhead = [], [], []
        with httpx.Client(timeout=10) as client:
            headers = {"Authorization": f"Bearer {KEY}"}
            for n in range(requests + 200):
                started = time.perf_counter()
                client.post(direct_url, json=upstream_body, headers=headers).raise_for_status()
                middle = time.perf_counter()
                response = client.post(f"{gw.url}/v1/chat/completions", json=BODY)
                ended = time.perf_counter()
                response.raise_for_status()
                if n >= 200:  # the first 200 warm connections, caches and bytecode
                    direct.append((middle - started) * 1000)
                    through.append((ended - middle) * 1000)
                    overhead.append(float(response.headers["X-Modelkeep-Overhead-Ms"]))
    finally:
        gw.stop()
        provider.stop()
        keep.close()
    added = statistics.median(through) - statistics.median(direct)
    print(f"latency over {requests} requests (ms): direct p50 {statistics.median(direct):.3f} "
          f"p99 {pct(direct, 0.99):.3f}; through the gateway p50 {statistics.median(through):.3f} "
          f"p99 {pct(through, 0.99):.3f}")
    print(f"  added by the gateway at p50: {added:.3f} ms (target < 2 ms); its own "
          f"X-Modelkeep-Overhead-Ms p50 {statistics.median(overhead):.3f} "
          f"p99 {pct(overhead, 0.99):.3f}")


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
    args = parser.parse_args()
    print(machine())
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="mk-bench-hosted-") as tmp:
        work = Path(tmp)
        latency(work, args.requests)
        overshoot(work, None, "sqlite")
        url = _pg_url()
        if url:
            overshoot(work, url, "postgresql")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
