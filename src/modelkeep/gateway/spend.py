"""What a gateway's hosted calls cost, and the budgets that stop them.

Costs are summed in memory per (version, arm, day, currency) on the request path and appended
to the keep about once a second with the serving counts (aggregated rows: counts and money,
never payload text). A version with a budget is different: before each call its worst-case
cost is reserved in the shared database and after the answer the reservation is settled to
the real cost (``registry/costs.py``), so several gateways together never reserve past the
limit. Versions without a budget cost no database write per call. The set of budgeted
versions, and those already spent, is re-read at every flush; a version whose budget is spent
(or whose reservation was just refused) is routed around like an unhealthy one.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from modelkeep.errors import BudgetExhaustedError
from modelkeep.registry.costs import Budget, CallCost
from modelkeep.registry.hosted import money


class SpendKeep(Protocol):
    """What the spend ledger needs of a keep."""

    def record_costs(self, name: str, items: Sequence[CallCost], gateway: str) -> None: ...

    def budgets(self, name: str | None = None) -> list[Budget]: ...

    def reserve_budget(self, ref: str, micros: int) -> bool: ...

    def settle_budget(self, ref: str, reserved: int, spent: int) -> None: ...


class Spend:
    """This gateway's cost counts and its view of the keep's budgets."""

    def __init__(self, keep: SpendKeep, gateway: str) -> None:
        self.keep = keep
        self.gateway = gateway
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str, str, str], list[int]] = {}
        self.budgeted: dict[str, Budget] = {}
        self.blocked: frozenset[str] = frozenset()  # refs whose budget is spent
        # also told of every call's cost (the /metrics cost counter): ref, currency, micros
        self.listener: Callable[[str, str, int], None] | None = None

    def add(self, ref: str, arm: str, currency: str, *, error: bool = False,
            input_tokens: int = 0, output_tokens: int = 0, micros: int = 0) -> None:
        """Count one call of ``ref`` through ``arm`` (a few additions under a lock)."""
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        with self._lock:
            sums = self._pending.setdefault((ref, arm, day, currency), [0, 0, 0, 0, 0])
            sums[0] += 1
            sums[1] += error
            sums[2] += input_tokens
            sums[3] += output_tokens
            sums[4] += micros
        if self.listener is not None and micros:
            self.listener(ref, currency, micros)

    def flush(self) -> None:
        """Append the sums since the last flush (one row per version, arm and day), then
        re-read the budgets. Raises what the keep raised (the caller reports it)."""
        with self._lock:
            pending, self._pending = self._pending, {}
        by_model: dict[str, list[CallCost]] = {}
        for (ref, arm, day, currency), sums in pending.items():
            name, _, version = ref.partition("@")
            by_model.setdefault(name, []).append(CallCost(version, arm, day, currency, *sums))
        for name, items in by_model.items():
            self.keep.record_costs(name, items, self.gateway)
        self.refresh()

    def refresh(self) -> None:
        """Re-read the budgets: which versions have one, and which are spent."""
        found = {b.ref: b for b in self.keep.budgets()}
        self.budgeted = found
        self.blocked = frozenset(ref for ref, b in found.items() if b.spent_micros >= b.limit_micros)

    async def reserve(self, ref: str, micros: int) -> int | None:
        """Reserve ``micros`` of ``ref``'s budget for one call (None: it has no budget, nothing
        to settle); ``BudgetExhaustedError`` when the call could pass it."""
        budget = self.budgeted.get(ref)
        if budget is None:
            return None
        if await asyncio.to_thread(self.keep.reserve_budget, ref, micros):
            return micros
        self.blocked = self.blocked | {ref}  # routed around until the next re-read
        raise BudgetExhaustedError(
            f"{ref} has spent its budget of {money(budget.limit_micros)} {budget.currency} "
            f"(or calls in flight have reserved the rest; this call could cost up to "
            f"{money(micros)} {budget.currency})", ref=ref,
            hint=f"modelkeep cost {ref.partition('@')[0]}; raise it with modelkeep budget set "
                 f"{ref} AMOUNT --currency {budget.currency}")

    async def settle(self, ref: str, reserved: int | None, spent: int) -> None:
        """Release a reservation made by ``reserve`` and add the call's real cost."""
        if reserved is not None:
            await asyncio.to_thread(self.keep.settle_budget, ref, reserved, spent)
