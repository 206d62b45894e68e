"""Many clients at once against several gateways sharing one budget (test and benchmark)."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass

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
