"""Folding the serving counters: rows that gateways append about once a second, merged into one
row per minute once they are a few minutes old.

Each gateway process appends its counts for each version (``serving_stats``), each A/B arm
(``ab_tallies``) and each shadow pair (``shadow_stats``) about once a second: 86,400 rows a
day for each, which every judge of a canary's gates would read and sum again each second, so a
24-hour step would slow to a crawl and the tables would grow without end. The counts add up
(histogram buckets, counts, sums and sums of squares), so the rows of one key and one minute
can be replaced by their sum without changing any total.

Totals are read since a deployment event (a canary step's start, an A/B split change, a
rollout's start) or over all time. A group never spans such a time: every folded row lies
wholly before it or wholly after it, and stamped with the earliest time of its rows, it is
counted exactly as its rows were. The rows a fold sums are deleted in the transaction that
inserts their sum (``DELETE ... RETURNING``: what was deleted is what is summed, so two
gateways folding at once never count a row twice).
"""

from __future__ import annotations

import bisect
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from modelkeep.clock import to_iso
from modelkeep.db.database import Database
from modelkeep.registry.ab_tally import ArmTally
from modelkeep.registry.deployments import history
from modelkeep.registry.serving import VersionStats
from modelkeep.registry.shadow_stats import ShadowStats
from modelkeep.registry.versions import model_id_of

FOLD_AFTER = timedelta(minutes=2)  # rows younger than this stay as they were appended
EVERY = 60.0  # seconds between two folds of one model's rows by one process
# rows this far before the last fold's end are looked at again: a gateway whose clock is
# behind appends rows there after the fold
SKEW = timedelta(minutes=10)
_CHUNK = 500  # ids per DELETE statement


@dataclass(frozen=True)
class CountsTable:
    """A table of summable counts: the columns that, with the minute, make a group, the JSON
    column of the counts, and how to read and add them."""

    table: str
    keys: tuple[str, ...]
    column: str
    parse: Callable[[dict[str, Any]], Any]  # the stored record -> a summable value


TABLES = (
    CountsTable("serving_stats", ("version",), "stats_json", VersionStats.from_record),
    CountsTable("ab_tallies", ("test", "arm", "keyed"), "tally_json", ArmTally.from_record),
    CountsTable("shadow_stats", ("rollout", "stable", "candidate"), "stats_json",
                ShadowStats.from_record),
)

_lock = threading.Lock()
# (database, model name) -> (when this process last folded, the end of what it folded)
_last: dict[tuple[str, str], tuple[float, datetime | None]] = {}


def fold_if_due(db: Database, name: str) -> int:
    """Fold ``name``'s counters when this process has not done so for ``EVERY`` seconds
    (the keep calls it after a gateway's append); the number of rows removed."""
    key = (db.location, name)  # a model's name is unique in its keep: no query to skip a fold
    with _lock:
        last = _last.get(key)
        if last is not None and time.monotonic() - last[0] < EVERY:
            return 0
        folded_to = last[1] if last else None
        _last[key] = (time.monotonic(), folded_to)  # another thread skips while this one folds
    now = datetime.now(UTC)
    removed = fold_counts(db, name, now, after=folded_to - SKEW if folded_to else None)
    with _lock:
        _last[key] = (time.monotonic(), now - FOLD_AFTER)
    return removed


def fold_counts(db: Database, name: str, now: datetime, *, after: datetime | None = None) -> int:
    """Fold ``name``'s rows of every counts table older than ``FOLD_AFTER`` before ``now``
    (and not older than ``after``, when given) into one row per key and minute; the number of
    rows removed."""
    model_id = model_id_of(db, name)
    bounds = _boundaries(db, name)
    before = to_iso(_minute(now - FOLD_AFTER))
    since = to_iso(after) if after else ""
    return sum(_fold(db, spec, model_id, bounds, since, before) for spec in TABLES)


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _boundaries(db: Database, name: str) -> list[str]:
    """Every time totals may be read since: each deployment event and each step's start."""
    times = set()
    for event in history(db, name):
        times.add(event.at)
        if event.state.step_started:
            times.add(event.state.step_started)
    return sorted(times)


def _group(spec: CountsTable, row: dict[str, Any], bounds: Sequence[str]) -> tuple[Any, ...]:
    # the minute, and how many boundaries lie at or before the row: never across one
    return (*(row[k] for k in spec.keys), row["at"][:16], bisect.bisect_right(bounds, row["at"]))


def _fold(db: Database, spec: CountsTable, model_id: int, bounds: Sequence[str], since: str,
          before: str) -> int:
    keys = ", ".join(spec.keys)
    rows = db.query(f"SELECT id, at, {keys} FROM {spec.table} WHERE model_id = :m "
                    "AND at >= :since AND at < :before", {"m": model_id, "since": since,
                                                          "before": before})
    groups: dict[tuple[Any, ...], list[int]] = {}
    for row in rows:
        groups.setdefault(_group(spec, row, bounds), []).append(row["id"])
    ids = [i for members in groups.values() if len(members) > 1 for i in members]
    if not ids:
        return 0
    with db.write():
        deleted: list[dict[str, Any]] = []
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            marks = ", ".join(f":i{n}" for n in range(len(chunk)))
            deleted += db.query(
                f"DELETE FROM {spec.table} WHERE id IN ({marks}) RETURNING at, {keys}, "
                f"{spec.column}", {f"i{n}": i for n, i in enumerate(chunk)})
        sums: dict[tuple[Any, ...], tuple[str, Any]] = {}
        for row in deleted:  # what this transaction deleted (another fold may have taken some)
            group = _group(spec, row, bounds)
            counts = spec.parse(json.loads(row[spec.column]))
            first, total = sums.get(group, (row["at"], None))
            sums[group] = (min(first, row["at"]), counts if total is None else total + counts)
        db.executemany(
            f"INSERT INTO {spec.table} (model_id, {keys}, gateway, at, {spec.column}) VALUES "
            f"(:m, {', '.join(':' + k for k in spec.keys)}, 'folded', :at, :counts)",
            [{"m": model_id, **dict(zip(spec.keys, group, strict=False)), "at": first,
              "counts": json.dumps(total.to_record())} for group, (first, total) in sums.items()])
    return len(deleted) - len(sums)
