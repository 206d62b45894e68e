"""``GET /metrics``: what a gateway's requests did, in the Prometheus text format.

Counted with prometheus-client: requests, errors and latency per model, version and traffic
kind (``live`` answers, ``shadow`` copies), HTTP responses per endpoint and status, cost per
model, version and currency, and the number of live gateway processes.

Labels carry only names the keep chose (deployed models, their versions, stable error codes,
a fixed list of endpoints), never anything a client sent: no payload text, no path a client
made up, no request id (docs/privacy.md).

With several gateway processes (``modelkeep gateway --workers N``: uvicorn workers) each
counts in its own memory-mapped files under ``PROMETHEUS_MULTIPROC_DIR``, which the gateway
makes fresh for each run (``multiprocess.py``) and removes when it stops; whichever process
answers ``/metrics`` sums every process's files, so the counts add up across processes. A
process that stops marks itself dead (its live gauge goes); one that was killed is marked dead
by the next scrape.
"""

from __future__ import annotations

import glob
import os
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# seconds; from well under a millisecond (a small local model) to the default 30 s timeout
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                   5.0, 10.0, 30.0)
_LIVE_FILE = re.compile(r"gauge_live\w*_(\d+)\.db$")


def endpoint_of(path: str) -> str:
    """The endpoint a path belongs to, from a fixed list (a label never holds client text)."""
    if path.startswith("/v1/models/") and path.endswith("/predict"):
        return "predict"
    return {"/v1/models": "models", "/v1/feedback": "feedback", "/healthz": "healthz",
            "/metrics": "metrics", "/v1/chat/completions": "chat"}.get(path, "other")


class GatewayMetrics:
    """The gateway's Prometheus metrics, in this process's registry or, when
    ``PROMETHEUS_MULTIPROC_DIR`` is set, in files every process's scrape sums."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.directory = os.environ.get(MULTIPROC_ENV) or None
        self.registry = CollectorRegistry()
        where = None if self.directory else self.registry  # files, or this registry
        by_version = ["model", "version", "traffic"]
        self.requests = Counter("modelkeep_requests", "Requests answered by a version (live "
                                "answers and shadow copies), errors included.", by_version,
                                registry=where)
        self.errors = Counter("modelkeep_errors", "Requests a version failed (it raised, timed "
                              "out, or could not be loaded), by error code.",
                              [*by_version, "code"], registry=where)
        self.latency = Histogram("modelkeep_request_duration_seconds", "Seconds from handing "
                                 "a request to the version to its answer.", by_version,
                                 buckets=LATENCY_BUCKETS, registry=where)
        self.responses = Counter("modelkeep_http_responses", "HTTP responses by endpoint and "
                                 "status code.", ["endpoint", "status"], registry=where)
        self.cost = Counter("modelkeep_cost", "Money spent on calls to a version, in its "
                            "price's currency.", ["model", "version", "currency"], registry=where)
        self.processes = Gauge("modelkeep_gateway_processes", "Gateway processes serving.",
                               multiprocess_mode="livesum", registry=where)
        self.processes.inc()
        self._children: dict[tuple[str, bool], tuple[Any, Any]] = {}
        self._responses: dict[tuple[str, int], Any] = {}
        self._all = (self.requests, self.errors, self.latency, self.responses, self.cost,
                     self.processes)

    def observe(self, ref: str, seconds: float, *, code: str = "", shadow: bool = False) -> None:
        """One answer of ``ref`` (``NAME@VERSION``) that took ``seconds``; ``code``: the error
        code when it failed."""
        children = self._children.get((ref, shadow))
        if children is None:  # labels() costs a lock and a lookup: once per version, not per call
            model, _, version = ref.partition("@")
            traffic = "shadow" if shadow else "live"
            children = self._children[(ref, shadow)] = (
                self.requests.labels(model, version, traffic),
                self.latency.labels(model, version, traffic))
        children[0].inc()
        children[1].observe(seconds)
        if code:
            model, _, version = ref.partition("@")
            self.errors.labels(model, version, "shadow" if shadow else "live", code).inc()

    def responded(self, endpoint: str, status: int) -> None:
        """One HTTP response of ``endpoint`` with ``status``."""
        child = self._responses.get((endpoint, status))
        if child is None:
            child = self._responses[(endpoint, status)] = self.responses.labels(endpoint, str(status))
        child.inc()

    def charged(self, ref: str, currency: str, micros: int) -> None:
        """What a call to ``ref`` (a hosted version) cost, in millionths of ``currency``."""
        if micros > 0:
            model, _, version = ref.partition("@")
            self.cost.labels(model, version, currency).inc(micros / 1_000_000)

    def render(self) -> bytes:
        """Every metric in the Prometheus text format (summed over processes). A metric with no
        sample yet is still described (HELP and TYPE), so dashboards and alerts can be checked
        against a gateway that has not served yet."""
        from prometheus_client import CollectorRegistry, generate_latest, multiprocess

        if self.directory is None:
            return generate_latest(self.registry)
        for path in glob.glob(os.path.join(self.directory, "gauge_live*_*.db")):
            found = _LIVE_FILE.search(path)
            if found and not _alive(int(found.group(1))):
                multiprocess.mark_process_dead(int(found.group(1)), self.directory)
        families = list(multiprocess.MultiProcessCollector(None, self.directory).collect())
        seen = {family.name for family in families}
        families += [family for metric in self._all for family in metric.describe()
                     if family.name not in seen]
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Families(families))
        return generate_latest(registry)

    async def endpoint(self, request: Request) -> Response:
        """``GET /metrics``."""
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(self.render(), media_type=CONTENT_TYPE_LATEST)

    def close(self) -> None:
        """This process stops: its live gauges go (its counters stay in the sums)."""
        if self.directory is not None:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid(), self.directory)


class _Families:
    """A collector of families already collected (the scrape's sums)."""

    def __init__(self, families: list[Any]) -> None:
        self.families = families

    def collect(self) -> list[Any]:
        return self.families


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class CountResponses:
    """ASGI middleware counting every HTTP response by endpoint and status."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = endpoint_of(scope.get("path", ""))

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.metrics.responded(endpoint, message["status"])
            await send(message)

        await self.app(scope, receive, counted)
