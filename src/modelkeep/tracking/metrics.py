"""Buffered metric points: appended in memory, written in batches by a background flusher.

``Run.log_metric`` appends a ``(name, step, value, time)`` tuple to a deque: no SQL, no lock,
no date formatting. One daemon thread per process drains each open run's deque every
``interval`` seconds (and on demand: at once for a run's first point in this process, so a
process killed in its first seconds keeps what it logged) and writes the batch in one
transaction: the points with one ``executemany``, then each series' point count and latest
point. (One thread for all runs:
starting and joining a thread per run would cost more than the rest of a short run.) The thread
stays for the process's next runs once a run that handles signals (a script's) has used it;
in a program that opted out of process-wide hooks it stops when its last buffer is closed.
Drained points stay in ``pending`` until the transaction commits, so a failed or interrupted
write loses nothing: the next flush retries it.

Each writing process has its own writer; several processes can write to one run (SQLite WAL
serialises their short transactions). Flushes are serialised per writer by a mutex.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from modelkeep.clock import now_iso
from modelkeep.db.database import Database

Point = tuple[str, int, float, float]  # name, step, value, unix time (s)

INSERT_POINT = "INSERT INTO metric_points (key_id, step, value, ts) VALUES (?, ?, ?, ?)"


class MetricWriter:
    """The buffer of one run in one process; the process's flusher thread drains it."""

    def __init__(self, db: Database, run_pk: int, interval: float = 1.0, *,
                 linger: bool = True) -> None:
        self.db = db
        self.run_pk = run_pk
        self.interval = max(0.01, float(interval))
        self.due = time.monotonic() + self.interval
        self.queue: deque[Point] = deque()
        self.pending: list[Point] = []
        self.error: BaseException | None = None
        self.flushing_thread: int | None = None
        self._key_ids: dict[str, int] = {}
        self._mutex = threading.Lock()
        FLUSHER.add(self, linger=linger)

    def wake(self) -> None:
        """Ask the flusher to write this buffer now rather than at the next interval."""
        self.due = 0.0
        FLUSHER.wake()

    def flush(self, db: Database | None = None) -> int:
        """Write every buffered point now (through ``db``, default the run's); returns the count."""
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
                self._write(db or self.db, batch)
                self.pending = []
                self.error = None
                return len(batch)
            finally:
                self.flushing_thread = None

    def close(self) -> None:
        """Stop background flushes of this buffer after a final flush (raises if it fails)."""
        FLUSHER.remove(self)
        self.flush()

    def _write(self, db: Database, batch: list[Point]) -> None:
        latest: dict[str, tuple[int, int, float, int]] = {}  # name -> (count, step, value, ts)
        rows = []
        with db.write():
            ids = self._ids(db, {p[0] for p in batch})
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

    def _ids(self, db: Database, names: Iterable[str]) -> dict[str, int]:
        """Series ids for ``names``, creating missing series (cached only once committed)."""
        known = dict(self._key_ids)
        missing = [n for n in names if n not in known]
        if missing:
            db.executemany(
                "INSERT INTO metric_keys (run_id, name) VALUES (:pk, :name) "
                "ON CONFLICT (run_id, name) DO NOTHING",
                [{"pk": self.run_pk, "name": n} for n in missing])
            for r in db.query("SELECT id, name FROM metric_keys WHERE run_id = :pk",
                                   {"pk": self.run_pk}):
                known[r["name"]] = r["id"]
        return known


class Flusher:
    """The one background thread per process that writes every open run's buffer when due.

    It reaches each database through its own connection (a ``Database`` per URL, opened and
    closed in this thread), so it never shares a connection with the thread that logs.
    """

    def __init__(self) -> None:
        self._writers: set[MetricWriter] = set()
        self._lock = threading.Lock()
        self._event = threading.Event()  # the running thread's: set to wake it or stop it
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._dbs: dict[str, Database] = {}  # the running thread's connections
        self._next_wake = 0.0
        self._linger = False  # once a script's run used the thread, it stays for the next runs

    def add(self, writer: MetricWriter, *, linger: bool = True) -> None:
        """Start flushing ``writer`` (starts the thread on first use, and again after a fork
        or after it stopped); ``linger`` keeps the thread when its last buffer is closed."""
        with self._lock:
            self._writers.add(writer)
            self._linger = self._linger or linger
            if self._thread is None or not self._thread.is_alive():
                self._event, self._stop, self._dbs = threading.Event(), threading.Event(), {}
                self._thread = threading.Thread(
                    target=self._loop, args=(self._event, self._stop, self._dbs),
                    name="modelkeep-flusher", daemon=True)
                self._thread.start()
            if writer.due < self._next_wake or writer.db.url not in self._dbs:
                self._event.set()  # due before the planned wake-up, or its database to open

    def remove(self, writer: MetricWriter) -> None:
        """Stop flushing ``writer`` in the background; the last one stops a thread that does
        not linger (and waits for it, so none is left behind)."""
        with self._lock:
            self._writers.discard(writer)
            thread = self._thread
            if self._writers or self._linger or thread is None:
                return
            self._thread = None
            self._stop.set()
            self._event.set()
        if thread is not threading.current_thread():
            thread.join()

    def wake(self) -> None:
        """Re-check which buffers are due now."""
        self._event.set()

    def _loop(self, event: threading.Event, stop: threading.Event,
              dbs: dict[str, Database]) -> None:
        while not stop.is_set():
            event.clear()  # a wake() from now on is not lost
            with self._lock:
                writers = list(self._writers)
            now = time.monotonic()
            with _IN_DATABASE:  # a fork waits until this thread is out of the database driver
                for writer in writers:
                    try:
                        db = _open(dbs, writer.db.url)  # opened on arrival: the first flush is prompt
                        if writer.due <= now:
                            writer.due = now + writer.interval
                            writer.flush(db)
                    except Exception as exc:  # kept pending; retried next time, raised on close
                        writer.error = exc
                with self._lock:
                    _close_unused(dbs, {w.db.url for w in self._writers})
                    self._next_wake = min((w.due for w in self._writers), default=now + 1.0)
            event.wait(max(0.0, self._next_wake - time.monotonic()))
        with _IN_DATABASE:
            _close_unused(dbs, set())


def _open(dbs: dict[str, Database], url: str) -> Database:
    if url not in dbs:
        dbs[url] = Database(url)
    return dbs[url]


def _close_unused(dbs: dict[str, Database], urls: set[str]) -> None:
    for url in [u for u in dbs if u not in urls]:
        dbs.pop(url).close()


FLUSHER = Flusher()
# Held by the flusher while it is inside SQLite or psycopg. A fork in the middle of such a call
# would hand the child the driver's internal locks held by a thread that does not exist there
# (a DataLoader worker forked right after a point was logged then hangs on its first write).
_IN_DATABASE = threading.Lock()
_FORK_WAIT = 10.0  # seconds a fork waits for the flusher before going ahead anyway
_held_for_fork = False


def _before_fork() -> None:
    global _held_for_fork
    _held_for_fork = _IN_DATABASE.acquire(timeout=_FORK_WAIT)


def _after_fork_in_parent() -> None:
    global _held_for_fork
    if _held_for_fork:
        _held_for_fork = False
        _IN_DATABASE.release()


def _after_fork() -> None:
    """A forked child has no flusher thread and must not flush its parent's buffers."""
    global FLUSHER, _IN_DATABASE, _held_for_fork
    FLUSHER = Flusher()
    _IN_DATABASE, _held_for_fork = threading.Lock(), False


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                    after_in_child=_after_fork)


def _insert_points(db: Database, rows: list[tuple[int, int, float | None, int]]) -> None:
    """One executemany of positional rows (building a dict per point would double the cost)."""
    db.executemany_positional(INSERT_POINT, rows)


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
