"""One load-generating process: Locust's FastHttpUser users, a LoadTestShape for the pattern,
and a token schedule that holds this process to its share of the requests per second.

Run as ``python -m modelkeep.loadtest.worker INDEX`` with the plan's JSON on stdin; it writes
one JSON line per wall-clock second it measured to stdout (``sec``, requests ``n``, failures,
a latency histogram in ms, error messages, and the tracked header's values), then ``done``
(with ``saturated``: whether Locust saw this process above 90% CPU).
Locust is imported here only: importing it monkey-patches the whole process with gevent.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter, defaultdict
from typing import Any

from modelkeep.loadtest.plan import LoadPlan, Request


def latency_key(ms: float) -> float:
    """A latency rounded to ~1% (0.1 ms below 10 ms), so a histogram stays small."""
    if ms < 10:
        return round(ms, 1)
    if ms < 1000:
        return float(round(ms))
    return float(round(ms, -1))


class Source:
    """The next request and when to send it: paced by the pattern's rate (a token every
    ``1/rate`` s, this process's share), or at a replayed record's own offset."""

    def __init__(self, plan: LoadPlan, index: int) -> None:
        self.plan = plan
        self.share = 1 / plan.processes
        replay = plan.pattern == "replay"
        self.requests = plan.requests[index::plan.processes] if replay else plan.requests
        self.replay = replay
        self.position = 0
        self.in_flight = 0  # taken and not yet answered
        self.start = time.monotonic()
        self.next_slot = self.start + index / max(plan.rate_at(0), 1e-9)

    def take(self) -> tuple[Request, float] | None:
        """The request to send and the monotonic time it is due (None: the replay is done).
        No greenlet switch happens in here, so users never take the same token."""
        if self.replay and self.position >= len(self.requests) \
                or time.monotonic() - self.start >= self.plan.duration:
            return None  # done: the shape stops the test at its next tick (within a second)
        request = self.requests[self.position % len(self.requests)]
        self.position += 1
        self.in_flight += 1
        if request.offset is not None:
            return request, self.start + request.offset
        now = time.monotonic()
        slot = max(self.next_slot, now)  # behind: send now, never a burst to catch up
        rate = self.plan.rate_at(slot - self.start) * self.share
        self.next_slot = slot + 1 / rate
        return request, slot

    @property
    def finished(self) -> bool:
        """A replay whose every request was sent and answered."""
        return self.replay and self.position >= len(self.requests) and not self.in_flight


class Buckets:
    """What this process measured, by wall-clock second."""

    def __init__(self, track_header: str) -> None:
        self.track_header = track_header
        self.counts: Counter[int] = Counter()
        self.failures: Counter[int] = Counter()
        self.latency: dict[int, Counter[float]] = defaultdict(Counter)
        self.errors: dict[int, Counter[str]] = defaultdict(Counter)
        self.tracked: dict[int, list[tuple[float, str, bool]]] = defaultdict(list)
        self.span: dict[int, tuple[float, float]] = {}  # first and last answer in each second

    def record(self, response_time: float, response: Any, exception: Any, **_: Any) -> None:
        """Locust's ``request`` event: one answer (or failure) with its latency in ms."""
        now = time.time()
        sec = int(now)
        self.counts[sec] += 1
        self.span[sec] = (self.span.get(sec, (now, now))[0], now)
        self.latency[sec][latency_key(response_time)] += 1
        if exception is not None:
            self.failures[sec] += 1
            self.errors[sec][str(exception).splitlines()[0][:200] or type(exception).__name__] += 1
        if self.track_header:
            headers = getattr(response, "headers", None) or {}
            self.tracked[sec].append((now, str(headers.get(self.track_header) or ""),
                                      exception is None))

    def flush(self, before: float) -> list[dict[str, Any]]:
        """The lines of every second wholly before ``before``, removed from here."""
        lines = []
        for sec in sorted(s for s in self.counts if s < before):
            lines.append({"sec": sec, "n": self.counts.pop(sec), "fail": self.failures.pop(sec, 0),
                          "lat": [[k, v] for k, v in self.latency.pop(sec).items()],
                          "errors": dict(self.errors.pop(sec, {})),
                          "span": self.span.pop(sec),
                          "tracked": self.tracked.pop(sec, [])})
        return lines


def _emit(line: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def run(plan: LoadPlan, index: int) -> None:
    """Send this process's share of ``plan`` and report each second on stdout."""
    import gevent
    from locust import FastHttpUser, LoadTestShape, constant, runners, task
    from locust.env import Environment

    runners.CPU_MONITOR_INTERVAL = 1.0  # notice a saturated worker in short tests too

    source = Source(plan, index)
    users = plan.users_per_process()

    class Pattern(LoadTestShape):
        """All users at once, for the plan's duration (the rate comes from ``Source``)."""

        def tick(self) -> tuple[int, float] | None:
            if source.finished or self.get_run_time() >= plan.duration:
                return None
            return users, float(users * 100)  # every user at once

    class Client(FastHttpUser):
        host = plan.host
        wait_time = constant(0)  # the pace comes from ``source``
        # FastHttpUser's default pool: one connection per user, kept alive
        network_timeout = 30.0
        connection_timeout = 5.0

        @task
        def send(self) -> None:
            taken = source.take()
            if taken is None:
                gevent.sleep(3600)  # the shape stops the test at its next tick
                return
            request, due = taken
            try:
                delay = due - time.monotonic()
                if delay > 0:
                    gevent.sleep(delay)
                extra = {"json": request.body} if request.body is not None else {}
                self.client.request(request.method, request.path, name="load", **extra)
            finally:
                source.in_flight -= 1

    buckets = Buckets(plan.track_header)
    env = Environment(user_classes=[Client], shape_class=Pattern(), catch_exceptions=True)
    env.events.request.add_listener(buckets.record)
    runner = env.create_local_runner()

    def report() -> None:
        while True:
            gevent.sleep(1.0)
            for line in buckets.flush(int(time.time())):
                _emit(line)

    reporter = gevent.spawn(report)
    runner.start_shape()
    shape = runner.shape_greenlet
    if shape is not None:
        shape.join()  # the shape's tick returns None at the end of the test
    runner.quit()
    reporter.kill()
    for line in buckets.flush(float("inf")):
        _emit(line)
    # over 90% CPU at some point: this process, not the target, may have set the pace
    _emit({"done": True, "saturated": bool(runner.cpu_warning_emitted)})


def main() -> None:
    """Entry point of a worker process: the plan on stdin, the worker's index in argv."""
    plan = LoadPlan.from_dict(json.loads(sys.stdin.readline()))
    run(plan, int(sys.argv[1]))


if __name__ == "__main__":
    main()
