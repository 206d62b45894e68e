"""What hosted versions cost: aggregated call rows, spend reports and budgets.

Gateways add up each hosted version's calls, tokens and cost in memory and append one
``call_costs`` row per (version, arm, day, currency) about once a second (migration 0009):
counts and money only, never a prompt or an answer. ``report`` sums them by version, day or
A/B arm, with the cost per 1,000 requests.

A budget (``budgets``) holds a version's limit, what it has spent and what calls in flight have
reserved. Before a call is sent the gateway reserves the call's worst-case cost with one
conditional UPDATE (it succeeds only if spent + reserved + this call stays within the limit);
after the answer it settles (the reservation goes, the real cost is added). Both are single
statements in a write transaction on the shared database, so any number of gateway processes
on SQLite or PostgreSQL can never together reserve past the limit: spend passes a budget only
when upstreams report more tokens than reserved, by at most the calls in flight.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from modelkeep.clock import now_iso
from modelkeep.db.database import Database
from modelkeep.errors import InvalidInputError
from modelkeep.registry.hosted import money
from modelkeep.registry.versions import model_id_of

GROUPINGS = ("version", "day", "arm")


@dataclass(frozen=True)
class CallCost:
    """Calls of one version through one arm on one day, summed (what a gateway appends)."""

    version: str
    arm: str
    day: str
    currency: str
    calls: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_micros: int = 0


@dataclass(frozen=True)
class CostLine:
    """One line of a cost report: the group (model plus version, day or arm) and its sums."""

    model: str
    group: str
    currency: str
    calls: int
    errors: int
    input_tokens: int
    output_tokens: int
    cost_micros: int

    @property
    def per_1k_requests_micros(self) -> int:
        """Cost per 1,000 requests, rounded to the micro-unit (0 with no calls)."""
        return round(self.cost_micros * 1000 / self.calls) if self.calls else 0

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "group": self.group, "currency": self.currency,
                "calls": self.calls, "errors": self.errors, "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens, "cost": money(self.cost_micros),
                "cost_per_1k_requests": money(self.per_1k_requests_micros)}


@dataclass(frozen=True)
class CostReport:
    """Spend grouped ``by`` version, day or arm since ``since`` ("" = all time)."""

    by: str
    since: str
    lines: tuple[CostLine, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"by": self.by, "since": self.since, "lines": [line.to_dict() for line in self.lines]}


@dataclass(frozen=True)
class Budget:
    """A version's budget: limit, settled spend, and reserved by calls in flight (micro-units)."""

    model: str
    version: str
    currency: str
    limit_micros: int
    spent_micros: int
    reserved_micros: int
    updated_at: str

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"

    @property
    def exhausted(self) -> bool:
        return self.spent_micros + self.reserved_micros >= self.limit_micros

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "currency": self.currency, "limit": money(self.limit_micros),
                "spent": money(self.spent_micros), "reserved": money(self.reserved_micros),
                "exhausted": self.exhausted, "updated_at": self.updated_at}


def record_costs(db: Database, name: str, items: Iterable[CallCost], gateway: str) -> None:
    """Append a gateway's summed calls of model ``name`` (one row per version, arm and day)."""
    rows = [c for c in items if c.calls]
    if not rows:
        return
    with db.write():
        model_id = model_id_of(db, name)
        at = now_iso()
        db.executemany(
            "INSERT INTO call_costs (model_id, version, arm, gateway, day, at, currency, calls, "
            "errors, input_tokens, output_tokens, cost_micros) VALUES (:m, :v, :arm, :g, :day, "
            ":at, :cur, :calls, :errors, :inp, :out, :cost)",
            [{"m": model_id, "v": c.version, "arm": c.arm, "g": gateway, "day": c.day, "at": at,
              "cur": c.currency, "calls": c.calls, "errors": c.errors, "inp": c.input_tokens,
              "out": c.output_tokens, "cost": c.cost_micros} for c in rows])


def report(db: Database, name: str | None, since: str = "", by: str = "version") -> CostReport:
    """Spend of model ``name`` (every model: None) since day or time ``since``, grouped ``by``."""
    if by not in GROUPINGS:
        raise InvalidInputError(f"cannot group costs by '{by}'", hint=f"use --by {'|'.join(GROUPINGS)}")
    column = {"version": "c.version", "day": "c.day", "arm": "c.arm || ' ' || c.version"}[by]
    where, params = "c.at >= :since", {"since": since}
    if name is not None:
        where += " AND c.model_id = :m"
        params["m"] = model_id_of(db, name)  # type: ignore[assignment]
    rows = db.query(
        f"SELECT m.name AS model, {column} AS grp, c.currency AS currency, SUM(c.calls) AS calls, "
        "SUM(c.errors) AS errors, SUM(c.input_tokens) AS inp, SUM(c.output_tokens) AS outp, "
        "SUM(c.cost_micros) AS cost FROM call_costs c JOIN models m ON m.id = c.model_id "
        f"WHERE {where} GROUP BY m.name, {column}, c.currency ORDER BY m.name, {column}", params)
    return CostReport(by, since, tuple(
        CostLine(r["model"], r["grp"], r["currency"], int(r["calls"]), int(r["errors"]),
                 int(r["inp"]), int(r["outp"]), int(r["cost"])) for r in rows))


def set_budget(db: Database, name: str, version: str, limit_micros: int, currency: str) -> Budget:
    """Set (or change) the budget of ``name@version``; what it has spent so far is kept."""
    with db.write():
        model_id = model_id_of(db, name)
        at = now_iso()
        found = db.query_one("SELECT currency FROM budgets WHERE model_id = :m AND version = :v",
                             {"m": model_id, "v": version})
        if found is None:
            db.execute("INSERT INTO budgets (model_id, version, currency, limit_micros, "
                       "spent_micros, reserved_micros, updated_at) VALUES (:m, :v, :c, :l, 0, 0, :at)",
                       {"m": model_id, "v": version, "c": currency, "l": limit_micros, "at": at})
        elif found["currency"] != currency:
            raise InvalidInputError(
                f"{name}@{version} already has a budget in {found['currency']}, not {currency}",
                hint=f"set it in {found['currency']}: --currency {found['currency']}")
        else:
            db.execute("UPDATE budgets SET limit_micros = :l, updated_at = :at "
                       "WHERE model_id = :m AND version = :v",
                       {"m": model_id, "v": version, "l": limit_micros, "at": at})
    return next(b for b in budgets(db, name) if b.version == version)


def budgets(db: Database, name: str | None = None) -> list[Budget]:
    """Every budget (of model ``name`` only, when given), by model and version."""
    where = "" if name is None else "WHERE b.model_id = :m"
    params = {} if name is None else {"m": model_id_of(db, name)}
    rows = db.query(
        "SELECT m.name AS model, b.version, b.currency, b.limit_micros, b.spent_micros, "
        f"b.reserved_micros, b.updated_at FROM budgets b JOIN models m ON m.id = b.model_id {where} "
        "ORDER BY m.name, b.version", params)
    return [Budget(r["model"], r["version"], r["currency"], int(r["limit_micros"]),
                   int(r["spent_micros"]), int(r["reserved_micros"]), r["updated_at"]) for r in rows]


def reserve(db: Database, name: str, version: str, micros: int) -> bool:
    """Reserve ``micros`` of ``name@version``'s budget for one call: False when that would pass
    the limit (nothing reserved). One conditional UPDATE: atomic across processes."""
    with db.write():
        cursor = db.execute(
            "UPDATE budgets SET reserved_micros = reserved_micros + :w WHERE version = :v AND "
            "model_id = (SELECT id FROM models WHERE name = :n) AND "
            "spent_micros + reserved_micros + :w <= limit_micros",
            {"w": micros, "v": version, "n": name})
        return bool(cursor.rowcount)


def settle(db: Database, name: str, version: str, reserved: int, spent: int) -> None:
    """Release a call's reservation and add what it really cost."""
    with db.write():
        db.execute(
            "UPDATE budgets SET reserved_micros = reserved_micros - :r, "
            "spent_micros = spent_micros + :s WHERE version = :v AND "
            "model_id = (SELECT id FROM models WHERE name = :n)",
            {"r": reserved, "s": spent, "v": version, "n": name})
