"""Buffered metric points: appended in memory, written in batches by a background flusher.

``Run.log_metric`` appends a ``(name, step, value, time)`` tuple to a deque: no SQL, no lock,
no date formatting. A daemon thread drains the deque every ``interval`` seconds (and on
demand) and writes the batch in one transaction: the points with one ``executemany``, then each
series' point count and latest point. Drained points stay in ``pending`` until the transaction
commits, so a failed or interrupted write loses nothing: the next flush retries it.

Each writing process has its own writer; several processes can write to one run (SQLite WAL
serialises their short transactions). Flushes are serialised per writer by a mutex.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from typing import Any

from modelkeep.clock import now_iso
from modelkeep.db.database import Database

Point = tuple[str, int, float, float]  # name, step, value, unix time (s)

INSERT_POINT = "INSERT INTO metric_points (key_id, step, value, ts) VALUES (?, ?, ?, ?)"


class MetricWriter:
    """The buffer and background flusher of one run in one process."""

    def __init__(self, db: Database, run_pk: int, interval: float = 1.0) -> None:
        self.db = db
        self.run_pk = run_pk
        self.interval = max(0.01, float(interval))
        self.queue: deque[Point] = deque()
        self.pending: list[Point] = []
        self.error: BaseException | None = None
        self.flushing_thread: int | None = None
        self._key_ids: dict[str, int] = {}
        self._mutex = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name=f"modelkeep-flush-{run_pk}",
                                        daemon=True)
        self._thread.start()

    # -- the background thread ------------------------------------------------------------

    def _loop(self) -> None:
        try:
            while not self._stopping:
                self._wake.wait(self.interval)
                self._wake.clear()
                if self._stopping:
                    break
                try:
                    self.flush()
                except Exception as exc:  # kept pending; retried next time, raised on close
                    self.error = exc
        finally:
            self.db.close()  # this thread's connection

    def wake(self) -> None:
        """Ask the flusher to write now rather than at the next interval."""
        self._wake.set()

    # -- flushing -------------------------------------------------------------------------

    def flush(self) -> int:
        """Write every buffered point now; returns how many were written."""
        with self._mutex:
            self.flushing_thread = threading.get_ident()
            try:
                queue = self.queue
                drained = len(queue)
                if drained:
                    pop = queue.popleft
                    self.pending.extend([pop() for _ in range(drained)])
                if not self.pending:
                    return 0
                batch = self.pending
                self._write(batch)
                self.pending = []
                self.error = None
                return len(batch)
            finally:
                self.flushing_thread = None

    def close(self) -> None:
        """Stop the flusher thread after a final flush; raises if points could not be written."""
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        self.flush()

    def _write(self, batch: list[Point]) -> None:
        db = self.db
        latest: dict[str, tuple[int, int, float, int]] = {}  # name -> (count, step, value, ts)
        rows = []
        with db.write():
            ids = self._ids({p[0] for p in batch})
            for name, step, value, ts in batch:
                ms = int(ts * 1000)
                stored = None if value != value else value  # NaN is stored as NULL
                rows.append((ids[name], step, stored, ms))
                seen = latest.get(name)
                if seen is None:
                    latest[name] = (1, step, value, ms)
                elif (step, ms) >= (seen[1], seen[3]):
                    latest[name] = (seen[0] + 1, step, value, ms)
                else:
                    latest[name] = (seen[0] + 1, seen[1], seen[2], seen[3])
            _insert_points(db, rows)
            updates = [{"id": ids[n], "n": c, "s": s, "v": None if v != v else v, "t": t}
                       for n, (c, s, v, t) in latest.items()]
            db.executemany("UPDATE metric_keys SET points = points + :n WHERE id = :id", updates)
            db.executemany(
                "UPDATE metric_keys SET last_step = :s, last_value = :v, last_ts = :t WHERE id = :id "
                "AND (last_step IS NULL OR last_step < :s OR (last_step = :s AND last_ts <= :t))",
                updates)
            db.execute("UPDATE runs SET heartbeat_at = :now WHERE id = :pk",
                       {"now": now_iso(), "pk": self.run_pk})
        self._key_ids = ids  # a rolled-back transaction must not leave ids of series it undid

    def _ids(self, names: Iterable[str]) -> dict[str, int]:
        """Series ids for ``names``, creating missing series (cached only once committed)."""
        known = dict(self._key_ids)
        missing = [n for n in names if n not in known]
        if missing:
            self.db.executemany(
                "INSERT INTO metric_keys (run_id, name) VALUES (:pk, :name) "
                "ON CONFLICT (run_id, name) DO NOTHING",
                [{"pk": self.run_pk, "name": n} for n in missing])
            for r in self.db.query("SELECT id, name FROM metric_keys WHERE run_id = :pk",
                                   {"pk": self.run_pk}):
                known[r["name"]] = r["id"]
        return known


def _insert_points(db: Database, rows: list[tuple[int, int, float | None, int]]) -> None:
    """One executemany of positional rows (building a dict per point would double the cost)."""
    if db.dialect == "sqlite":
        db.connection.executemany(INSERT_POINT, rows)
        return
    with db.connection.cursor() as cur:
        cur.executemany(INSERT_POINT.replace("?", "%s"), rows)


def next_steps(db: Database, run_pk: int) -> dict[str, int]:
    """For a run being attached to: each series' next automatic step (its highest step + 1)."""
    rows = db.query(
        "SELECT k.name, MAX(p.step) AS top FROM metric_keys k JOIN metric_points p "
        "ON p.key_id = k.id WHERE k.run_id = :pk GROUP BY k.name", {"pk": run_pk})
    return {r["name"]: int(r["top"]) + 1 for r in rows}


def final_metrics(db: Database, run_pk: int) -> dict[str, float]:
    """Each series' latest value (highest step, then newest), NaN decoded."""
    rows = db.query("SELECT name, last_value, last_step FROM metric_keys WHERE run_id = :pk "
                    "ORDER BY name", {"pk": run_pk})
    return {r["name"]: (float("nan") if r["last_value"] is None else float(r["last_value"]))
            for r in rows if r["last_step"] is not None}


def series_of(db: Database, run_pk: int) -> list[dict[str, Any]]:
    """Each series of a run: name, points, last step, last value."""
    rows = db.query("SELECT name, points, last_step, last_value FROM metric_keys "
                    "WHERE run_id = :pk ORDER BY name", {"pk": run_pk})
    for r in rows:
        r["last_value"] = float("nan") if r["last_value"] is None else float(r["last_value"])
    return rows
