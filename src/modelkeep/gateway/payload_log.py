"""Handing answered requests' payloads to the keep, when payload logging is on.

Off by default: a gateway started without logging never builds this object, so no payload
is held, queued or written anywhere. On, the request path only appends the inputs and outputs
it already holds to a bounded queue; a daemon thread hands them to the keep about once a second
(``Keep.record_payloads`` redacts them and deletes expired ones). When the queue is full (the
database is slower than the traffic) further payloads are dropped and counted, never waited
for. A failed write is reported by the exception's type only: a database error's text can
quote the statement's parameters, which are the payloads.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from typing import Any, Protocol

from modelkeep.registry.payloads import PayloadItem

CAPACITY = 10_000  # payloads waiting for the keep before new ones are dropped
INTERVAL = 1.0  # seconds between writes


class PayloadKeep(Protocol):
    """What the payload log needs of a keep."""

    def record_payloads(self, items: Sequence[PayloadItem]) -> int: ...


class PayloadLog:
    """A bounded queue of answered requests, written to ``keep`` by a daemon thread."""

    def __init__(self, keep: PayloadKeep, *, capacity: int = CAPACITY,
                 interval: float = INTERVAL) -> None:
        self.keep = keep
        self.capacity = capacity
        self.interval = interval
        self.dropped = 0
        self.stored = 0
        self.last_error = ""
        self._queue: deque[PayloadItem] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, model: str, version: str, request_id: str, inputs: Any, outputs: Any = None,
            error: str = "") -> None:
        """Queue one answered request (outputs, or the error code it got instead)."""
        item = PayloadItem(model, version, request_id, inputs, outputs, error)
        with self._lock:
            if len(self._queue) >= self.capacity:
                self.dropped += 1
                return
            self._queue.append(item)

    def flush(self) -> int:
        """Write what is queued; how many the keep stored."""
        with self._lock:
            items, self._queue = list(self._queue), deque()
        if not items:
            return 0
        try:
            stored = self.keep.record_payloads(items)
        except Exception as exc:  # the database unreachable or full: these payloads are lost
            self.last_error = f"storing {len(items)} payloads failed: {type(exc).__name__}"
            self.dropped += len(items)
            return 0
        self.last_error = ""
        self.stored += stored
        return stored

    def start(self) -> None:
        """Write the queue every ``interval`` seconds in a daemon thread."""
        self._thread = threading.Thread(target=self._loop, name="modelkeep-payloads", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and write what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()
