"""Many clients at once against several gateways sharing one budget (test and benchmark)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


@dataclass(frozen=True)
class Race:
    """What the clients saw: answers by status, the most calls in flight at once, and how many
    requests each gateway answered 200."""

    statuses: dict[int, int]
    max_in_flight: int
    ok_by_gateway: dict[str, int]

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)


async def _race(urls: list[str], clients: int, per_client: int, model: str) -> Race:
    statuses: Counter[int] = Counter()
    by_gateway: Counter[str] = Counter()
    in_flight = peak = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        async def one(n: int) -> None:
            nonlocal in_flight, peak
            url = urls[n % len(urls)]
            for _ in range(per_client):
                in_flight += 1
                peak = max(peak, in_flight)
                try:
                    response = await client.post(f"{url}/v1/chat/completions", json={
                        "model": model, "messages": [{"role": "user", "content": "spend it"}]})
                finally:
                    in_flight -= 1
                statuses[response.status_code] += 1
                if response.status_code == 200:
                    by_gateway[url] += 1
                elif response.status_code == 402:
                    return  # this client saw the budget spent
        await asyncio.gather(*(one(n) for n in range(clients)))
    return Race(dict(statuses), peak, dict(by_gateway))


def race(urls: list[str], *, clients: int = 64, per_client: int = 20, model: str = "chat") -> Race:
    """``clients`` concurrent clients, spread over ``urls``, each sending up to ``per_client``
    chat requests (stopping at its first 402)."""
    return asyncio.run(_race(urls, clients, per_client, model))


@dataclass(frozen=True)
class BudgetRun:
    """A race against one budget: what the clients saw, the budget after, the upstream's calls
    and the race's seconds."""

    race: Race
    budget: Any
    upstream_calls: int
    seconds: float


def budget_run(root: Path, database_url: str | None = None, *, gateways: int = 3,
               clients: int = 64, ref: str = "chat@1.0.1", amount: str = "0.30",
               lying_tokens: int | None = None) -> BudgetRun:
    """``ref`` (chat@1.0.1: 0.01 USD a call) deployed with a budget of ``amount`` USD,
    ``gateways`` gateway processes on one keep, the fake provider answering after 50 ms,
    ``clients`` clients. ``lying_tokens``: the provider reports that many completion tokens
    whatever max_tokens was (more than any reservation assumed)."""
    from fake_provider import FakeProvider
    from gateway_process import GatewayProcess
    from hosted_support import KEY, KEY_ENV, hosted_keep

    provider = FakeProvider(key=KEY)
    # a generous timeout: a busy machine must not turn slow answers into retried calls
    keep = hosted_keep(root, provider.url, database_url=database_url, timeout=30)
    keep.deploy(ref)
    keep.set_budget(ref, amount, "USD")
    provider.script(delay=0.05,  # calls overlap: many are in flight at the budget's edge
                    **({} if lying_tokens is None else {"completion_tokens": lying_tokens,
                                                        "cap": False}))
    started = [GatewayProcess(keep.settings.root, env={KEY_ENV: KEY}) for _ in range(gateways)]
    try:
        for gw in started:
            gw.wait_ready()
        clock = time.perf_counter()
        result = race([gw.url for gw in started], clients=clients, per_client=10)
        seconds = time.perf_counter() - clock
        [budget] = keep.budgets("chat")
        upstream_calls = len(provider.received())
    finally:
        for gw in started:
            gw.stop()
        provider.stop()
        keep.close()
    return BudgetRun(result, budget, upstream_calls, seconds)
