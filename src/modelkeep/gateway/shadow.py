"""Shadow copies: a request the stable version has answered goes, copied, to the candidate.

The copy is handed to a small pool of its own worker threads after the stable answer is
computed, so the user never waits for the candidate nor sees its errors, and a candidate that
hangs or is slow holds only the shadow workers, never the threads that answer users: when
every shadow worker is busy and ``backlog`` copies wait, further copies are dropped (and
counted). Each finished copy is compared with the stable answer (``registry/agreement.py``)
and counted per shadow rollout; the gate keeper hands the counts to the keep about once a
second (``registry/shadow_stats.py``). A disagreement is kept as hashes only; when payload
logging is on (``log_payload``: the gateway's payload log, docs/privacy.md), the candidate's
answer to a disagreeing copy is logged there too, redacted and purged like every payload,
under the request id of the stable answer's own row.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from modelkeep.registry import agreement, serving
from modelkeep.registry.rollout import Rollout
from modelkeep.registry.shadow_stats import SAMPLE_LIMIT, Disagreement, ShadowBatch, ShadowStats

from .calls import DaemonPool
from .feedback import canonical_json
from .pool import VersionPool

Key = tuple[str, str, str, str]  # model, rollout seed, stable version, candidate version


def _hash(value: Any) -> str:
    try:
        text = canonical_json(value)
    except (TypeError, ValueError):
        text = repr(value)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class _Counts:
    def __init__(self) -> None:
        self.copies = self.compared = self.errors = self.timeouts = self.dropped = 0
        self.distances = [0] * agreement.BUCKETS
        self.candidate = [0] * serving.BUCKETS
        self.stable = [0] * serving.BUCKETS
        self.samples: list[Disagreement] = []

    def frozen(self) -> ShadowStats:
        return ShadowStats(self.copies, self.compared, self.errors, self.timeouts, self.dropped,
                           tuple(self.distances), tuple(self.candidate), tuple(self.stable))


class ShadowMeter:
    """What each shadow rollout's copies did since the last ``take``; at most
    ``SAMPLE_LIMIT`` disagreements per rollout are ever handed on by this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[Key, _Counts] = {}
        self._sampled: dict[str, int] = {}  # rollout seed -> disagreements handed on

    def _counts(self, key: Key) -> _Counts:
        return self._pending.get(key) or self._pending.setdefault(key, _Counts())

    def dropped(self, key: Key) -> None:
        with self._lock:
            self._counts(key).dropped += 1

    def record(self, key: Key, *, stable_seconds: float, seconds: float, distance: float | None,
               timeout: bool = False, sample: Callable[[], Disagreement] | None = None) -> None:
        """One copy: ``distance`` None when the candidate failed (``timeout``: took too long);
        ``sample`` builds the disagreement record when one is wanted."""
        with self._lock:
            counts = self._counts(key)
            counts.copies += 1
            counts.stable[serving.bucket_of(stable_seconds * 1000)] += 1
            counts.candidate[serving.bucket_of(seconds * 1000)] += 1
            if distance is None:
                counts.errors += 1
                counts.timeouts += timeout
            else:
                counts.compared += 1
                counts.distances[agreement.bucket_of(distance)] += 1
            if sample is not None and self._sampled.get(key[1], 0) < SAMPLE_LIMIT:
                self._sampled[key[1]] = self._sampled.get(key[1], 0) + 1
                counts.samples.append(sample())

    def take(self) -> dict[str, list[ShadowBatch]]:
        """model -> the batches since the last call; the counters start again from zero."""
        with self._lock:
            pending, self._pending = self._pending, {}
        out: dict[str, list[ShadowBatch]] = {}
        for (model, seed, stable, candidate), c in pending.items():
            out.setdefault(model, []).append(
                ShadowBatch(seed, stable, candidate, c.frozen(), tuple(c.samples)))
        return out


class PayloadLogger(Protocol):
    """The payload log's ``add`` (present only when payload logging is on)."""

    def __call__(self, model: str, version: str, request_id: str, inputs: Any,
                 outputs: Any = None, error: str = "") -> None: ...


class ShadowRunner:
    """Sends copies to shadowing candidates on ``threads`` workers of its own."""

    def __init__(self, pool: VersionPool, meter: ShadowMeter, *, timeout: float,
                 on_answer: Callable[[str, float, bool], None] | None = None, threads: int = 4,
                 backlog: int = 64, log_payload: PayloadLogger | None = None) -> None:
        self.pool = pool
        self.meter = meter
        self.timeout = timeout
        self.on_answer = on_answer  # (ref, seconds, failed): the candidate's serving counts
        self.log_payload = log_payload
        self._limit = threads + backlog
        self._busy = 0
        self._lock = threading.Lock()
        self._workers = DaemonPool(threads, "modelkeep-shadow")

    def send(self, model: str, stable: str, rollout: Rollout, request_id: str, inputs: Any,
             outputs: Any, stable_seconds: float) -> None:
        """Copy a request ``stable`` answered with ``outputs`` to ``rollout.candidate``;
        returns at once (never raises)."""
        key: Key = (model, rollout.seed, stable, rollout.candidate)
        ref = f"{model}@{rollout.candidate}"
        if not self.pool.healthy(ref) and not self.pool.failed(ref):
            return  # still loading: nothing to compare yet
        with self._lock:
            full = self._busy >= self._limit
            self._busy += not full
        if full:
            self.meter.dropped(key)
            return
        self._workers.submit(self._copy, key, ref, rollout.tolerance, request_id, inputs,
                             outputs, stable_seconds)

    def _copy(self, key: Key, ref: str, tolerance: float, request_id: str, inputs: Any,
              outputs: Any, stable_seconds: float) -> None:
        started = time.perf_counter()
        failure: str | None = None
        answer: Any = None
        try:
            answer = self.pool.get(ref).predict(inputs)
        except Exception as exc:  # the candidate's failure is counted, never shown to anyone
            failure = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        seconds = time.perf_counter() - started
        timed_out = failure is None and seconds > self.timeout
        if timed_out:
            failure = f"answered after {seconds:.3g} s, over the {self.timeout:g} s timeout"
        try:
            distance = None if failure else agreement.distance(outputs, answer)
            differs = failure is not None or (distance is not None and distance > tolerance)
            sample = None
            if differs:
                sample = self._sample(request_id, distance, failure, inputs, outputs, answer)
                if self.log_payload is not None:
                    self.log_payload(key[0], key[3], request_id, inputs,
                                     None if failure else answer, failure or "")
            self.meter.record(key, stable_seconds=stable_seconds, seconds=seconds,
                              distance=distance, timeout=timed_out, sample=sample)
            if self.on_answer is not None:
                self.on_answer(ref, seconds, failure is not None)
        finally:
            with self._lock:
                self._busy -= 1

    def _sample(self, request_id: str, distance: float | None, failure: str | None,
                inputs: Any, outputs: Any, answer: Any) -> Callable[[], Disagreement]:
        def build() -> Disagreement:  # hashing only the disagreements that are kept
            return Disagreement(request_id, distance, _hash(inputs), _hash(outputs),
                                None if failure else _hash(answer), failure)
        return build

    def close(self) -> None:
        self._workers.shutdown(wait=False)
