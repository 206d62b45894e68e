"""A version's cap on predictions at once (``gateway/limits.py``): a free slot is taken at once,
a request waits for one at most the timeout, and the wait counts toward it."""

from __future__ import annotations

import asyncio

import pytest

from modelkeep.errors import PredictionTimeoutError
from modelkeep.gateway.limits import VersionLimits


def test_free_slots_at_once_then_a_wait_that_counts_and_a_timeout():
    limits = VersionLimits()
    given: list[float] = []

    async def hold(seconds: float):
        async def call(left: float) -> float:
            given.append(left)
            await asyncio.sleep(seconds)
            return left
        return await limits.run("m@1", 2, 1.0, call)

    async def scenario():
        first = asyncio.ensure_future(hold(0.3))
        second = asyncio.ensure_future(hold(0.3))
        await asyncio.sleep(0.01)
        assert len(given) == 2 and min(given) > 0.99  # free slots: the whole timeout left
        third = await hold(0.0)  # waits ~0.3 s for a slot
        assert 0.5 < third < 0.8
        await asyncio.gather(first, second)
        busy = [asyncio.ensure_future(hold(2.0)) for _ in range(2)]
        await asyncio.sleep(0.01)
        with pytest.raises(PredictionTimeoutError, match="all 2 of its threads were busy"):
            await limits.run("m@1", 2, 0.2, lambda left: asyncio.sleep(0, left))
        for task in busy:
            task.cancel()
        assert await limits.run("m@1", None, 3.0, lambda left: asyncio.sleep(0, left)) == 3.0

    asyncio.run(scenario())
