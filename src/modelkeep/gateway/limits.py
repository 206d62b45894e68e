"""Predictions at once per version, for a version that runs inside the gateway and whose
deployment configuration sets ``threads``.

The gateway's own pool (``--threads``) is shared by every version; a version's ``threads``
caps its share of it, so one slow version cannot occupy every thread. A request waits for a
free slot at most the version's timeout, and that wait counts toward it. A version in worker
processes needs no cap here: each of its ``threads`` workers answers one request at a time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from modelkeep.errors import PredictionTimeoutError

T = TypeVar("T")


class VersionLimits:
    """One semaphore per (version, threads)."""

    def __init__(self) -> None:
        self._slots: dict[tuple[str, int], asyncio.Semaphore] = {}

    async def run(self, ref: str, threads: int | None, timeout: float,
                  call: Callable[[float], Awaitable[T]]) -> T:
        """``call(time left)`` once ``ref`` has a free slot (at once when ``threads`` is None);
        ``PredictionTimeoutError`` when none frees up within ``timeout``."""
        if not threads:
            return await call(timeout)
        slots = self._slots.setdefault((ref, threads), asyncio.Semaphore(threads))
        started = time.monotonic()
        if not slots.locked():
            await slots.acquire()  # a free slot is taken at once: no timer, no task
        else:
            try:
                await asyncio.wait_for(slots.acquire(), timeout)
            except TimeoutError:
                raise PredictionTimeoutError(
                    f"{ref} did not answer within {timeout:g} s (all {threads} of its threads "
                    "were busy)", ref=ref, timeout=timeout) from None
        try:
            return await call(max(timeout - (time.monotonic() - started), 0.001))
        finally:
            slots.release()
