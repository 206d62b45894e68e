"""The gateway's ASGI app (Starlette): predict, the list of models, and health.

``POST /v1/models/{name}/predict`` takes ``{"inputs": ...}`` and answers
``{"model", "version", "ref", "arm", "request_id", "outputs"}`` with the headers
``X-Request-Id``, ``X-Modelkeep-Version`` and ``X-Modelkeep-Overhead-Ms`` (the time spent in the
gateway outside the model's ``predict``). ``{name}`` may be ``NAME@VERSION`` to ask for one of
the versions the gateway holds. Every error is the one JSON shape of ``ModelkeepError.to_dict``
with its ``http_status``. Predict is the hot path: it is served in plain ASGI (``PredictFirst``,
``Gateway.serve_predict``); the other endpoints go through Starlette.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from modelkeep.errors import (
    BudgetExhaustedError,
    InvalidInputError,
    ModelkeepError,
    NotDeployedError,
    PredictionTimeoutError,
)
from modelkeep.registry.loaders.base import failure
from modelkeep.registry.loaders.hosted import HostedModel
from modelkeep.registry.rollout import Deployment

from .ab_meter import ArmMeter, Trial, arm_of, check_outcome, counted
from .calls import Answer, Caller, timed
from .chat import chat_completions
from .feedback import FeedbackInbox, RecentAnswers, canonical_json, join
from .gatekeeper import GateKeeper
from .hosted_calls import HostedCaller
from .limits import VersionLimits
from .meter import Meter
from .metrics import CountResponses, GatewayMetrics
from .payload_log import PayloadLog
from .placement import Placer
from .pool import VersionPool
from .predict_asgi import (
    PredictFirst,
    PredictRoute,
    given_request_id,
    parse_inputs,
    read_body,
    send_error,
    send_json,
)
from .routing import Route as Routed
from .routing import request_key, route
from .shadow import ShadowMeter, ShadowRunner
from .spend import Spend
from .upstream import Upstream
from .watcher import ServingKeep, StateWatcher
from .workers import WorkerModel


@dataclass(frozen=True)
class GatewaySettings:
    """How a gateway serves: poll interval (s), per-request timeout (s), worker threads, how
    many recent stable versions of each model stay loaded, and whether it stores payloads."""

    poll_interval: float = 0.2
    timeout: float = 30.0
    threads: int = 32
    keep_stable: int = 3
    load_before_serving: bool = False  # a worker sharing a port joins it once its versions load
    log_payloads: bool = False  # store request/response payloads (redacted) in the keep


def _error(exc: ModelkeepError, request_id: str | None = None) -> JSONResponse:
    headers = {"X-Request-Id": request_id} if request_id else None
    return JSONResponse(exc.to_dict(), status_code=exc.http_status, headers=headers)


class Gateway:
    """The state behind the app: the keep's deployments, the loaded versions, the callers."""

    def __init__(self, keep: ServingKeep, settings: GatewaySettings) -> None:
        self.settings = settings
        # versions load where placement.py says: here, or in worker processes of their own
        self.placer = Placer(keep, lambda ref: self.watcher.config(ref), timeout=settings.timeout)
        self.pool = VersionPool(self.placer.load)
        self.meter = Meter()
        self.metrics = GatewayMetrics()
        self.meter.listener = self.metrics.observe
        self.payloads = PayloadLog(keep) if settings.log_payloads else None  # off by default
        self.recent = RecentAnswers()
        self.inbox = FeedbackInbox()
        self.shadow_meter = ShadowMeter()
        self.shadow = ShadowRunner(self.pool, self.shadow_meter, timeout=settings.timeout,
                                   log_payload=self.payloads.add if self.payloads else None,
                                   on_answer=lambda ref, s, failed: self.meter.record(
                                       ref, s, error=failed, shadow=True))
        gatekeeper = GateKeeper(keep, self.meter, self.inbox, self.shadow_meter)
        self.watcher = StateWatcher(keep, self.pool, gatekeeper,
                                    interval=settings.poll_interval, keep_stable=settings.keep_stable)
        self.caller = Caller(threads=settings.threads, timeout=settings.timeout)
        self.limits = VersionLimits()
        # hosted versions: costs and budgets flushed and re-read with the serving counts
        self.spend = Spend(keep, gatekeeper.gateway)
        gatekeeper.flushers.append(self.spend.flush)
        self.spend.listener = self.metrics.charged
        self.upstream = Upstream()
        self.hosted = HostedCaller(self.meter, self.spend, self.upstream)
        self._shadows: set[asyncio.Task[Any]] = set()
        self.arms = ArmMeter()  # A/B/n tests: each arm's counts (ab_meter.py)
        gatekeeper.flushers.append(lambda: self.arms.flush(keep, gatekeeper.gateway))

    def usable(self, ref: str) -> bool:
        """Whether ``ref`` is loaded and not stopped by a spent budget."""
        return self.pool.healthy(ref) and ref not in self.spend.blocked

    def deployment(self, name: str) -> Deployment:
        found = self.watcher.deployments.get(name)
        if found is None or found.stable is None:
            raise NotDeployedError(f"model '{name}' is not deployed in this gateway",
                                   hint=f"modelkeep deploy {name}@VERSION", name=name)
        return found

    def choose(self, name: str, request: Request, request_id: str) -> Routed:
        """The version that answers (a pinned ``NAME@VERSION``, else the routing decision); a
        candidate that is not loaded yet or failed to load gives its share to the stable one."""
        model, _, pinned = name.partition("@")
        deployment = self.deployment(model)
        if pinned:
            if pinned not in deployment.serving(self.settings.keep_stable):
                raise NotDeployedError(f"{name} is not one of the versions this gateway serves",
                                       hint="GET /v1/models lists them", name=model)
            return Routed(pinned, "pinned")
        rollout = deployment.active_rollout
        key = request_id  # a rollout that names no key draws each request afresh
        if rollout is not None and rollout.by:
            key, _ = request_key(rollout.by, request.headers, request_id, request.query_params)
        chosen = route(deployment, key)
        if self.usable(f"{model}@{chosen.version}"):
            return chosen
        # a candidate not ready gives its share to the stable version; a new stable version
        # not loaded yet leaves the traffic on the last stable one that is loaded
        fallbacks = [deployment.stable] if chosen.arm != "stable" else []  # candidate or A/B arm
        if chosen.arm != "stable" or not self.pool.failed(f"{model}@{chosen.version}"):
            fallbacks += list(deployment.previous[:self.settings.keep_stable - 1])
        for version in fallbacks:
            if version and self.usable(f"{model}@{version}"):
                return Routed(version, "stable", chosen.shadow)
        return chosen  # answering says why it cannot (unhealthy, or still loading)

    async def serve_predict(self, scope: Scope, receive: Receive, send: Send, name: str) -> None:
        """``POST /v1/models/NAME/predict``, in plain ASGI: the hot path, so it skips Starlette's
        router, ``Request`` and ``Response`` (docs/gateway.md, "What a request costs")."""
        started = time.perf_counter()
        request_id = given_request_id(scope)
        try:
            body = await read_body(receive)
            if body is None:
                return  # the client left: nobody to answer
            inputs = parse_inputs(body)
            model_name = name.partition("@")[0]
            chosen, trial, answer = await self.routed_answer(name, Request(scope), request_id,
                                                             inputs)
            outputs = canonical_json(answer.outputs)
            if chosen.shadow and not self.hosted_shadow(f"{model_name}@{chosen.shadow}", inputs):
                self.shadow_copy(model_name, chosen, request_id, inputs, answer)
        except Exception as exc:  # ours, or a LoadedModel's own error, or outputs not JSON
            error = exc if isinstance(exc, ModelkeepError) else failure(exc, f"{name} raised")
            self.metrics.responded("predict", error.http_status)
            await send_error(send, error, request_id)
            return
        self.remember_answer(request_id, model_name, chosen.version, outputs, trial)
        if self.payloads is not None:
            self.payloads.add(model_name, chosen.version, request_id, inputs, answer.outputs)
        head = json.dumps({"model": model_name, "version": chosen.version,
                           "ref": f"{model_name}@{chosen.version}", "arm": chosen.arm,
                           "request_id": request_id}, separators=(",", ":"))
        overhead = (time.perf_counter() - started - answer.model_seconds) * 1000
        self.metrics.responded("predict", 200)
        # the outputs are serialised once: for the body and for judging feedback labels later
        await send_json(send, 200, f'{head[:-1]},"outputs":{outputs}}}'.encode(), [
            (b"x-request-id", request_id.encode()),
            (b"x-modelkeep-version", chosen.version.encode()),
            (b"x-modelkeep-overhead-ms", f"{overhead:.3f}".encode())])

    async def routed_answer(self, name: str, request: Request, request_id: str,
                            inputs: Any) -> tuple[Routed, Trial | None, Answer]:
        """The routed version's answer (and its A/B trial, if any); when its budget just ran
        out, the version routing picks instead (a pinned version, or no other choice, is
        ``BudgetExhaustedError``)."""
        model_name = name.partition("@")[0]
        chosen = self.choose(name, request, request_id)
        try:
            return chosen, *await self._answer_route(model_name, chosen, request, request_id, inputs)
        except BudgetExhaustedError:
            again = self.choose(name, request, request_id)
            if again.version == chosen.version:
                raise
            return again, *await self._answer_route(model_name, again, request, request_id, inputs)

    async def _answer_route(self, model_name: str, chosen: Routed, request: Request,
                            request_id: str, inputs: Any) -> tuple[Trial | None, Answer]:
        trial = self.trial_of(model_name, chosen, request, request_id)
        return trial, await self.answer(f"{model_name}@{chosen.version}", inputs, chosen.arm, trial)

    def trial_of(self, model_name: str, chosen: Routed, request: Request,
                 request_id: str) -> Trial | None:
        """The A/B arm ``chosen`` answers for (None: no test runs, or the stable stood in)."""
        return arm_of(self.watcher.deployments.get(model_name), chosen, request, request_id)

    def remember_answer(self, request_id: str, model_name: str, version: str,
                        outputs_json: str | None, trial: Trial | None) -> None:
        """Remember an answer for its feedback: the version, its outputs' canonical JSON
        (None: not held, so labels are not judged) and the A/B arm that gave it."""
        self.recent.remember(request_id, model_name, version, outputs_json)
        if trial is not None:
            self.arms.remember(request_id, trial)

    def shadow_copy(self, model_name: str, chosen: Routed, request_id: str, inputs: Any,
                    answer: Answer) -> None:
        """Hand a copy of a request the stable version answered to the shadow runner, which
        sends it to a local candidate and compares the two answers (a hosted candidate's
        copies go through ``hosted_shadow``)."""
        rollout = self.deployment(model_name).active_rollout
        if rollout is not None and rollout.candidate == chosen.shadow:
            self.shadow.send(model_name, chosen.version, rollout, request_id, inputs,
                             answer.outputs, answer.model_seconds)

    def hosted_shadow(self, ref: str, inputs: Any) -> bool:
        """Send a hosted candidate's shadow copy through the upstream client (so it is counted,
        costed and held to its budget), nobody waiting for it; False for a local candidate,
        whose copies the shadow runner sends."""
        if not self.usable(ref) or not isinstance(model := self.pool.get(ref), HostedModel):
            return False
        task = asyncio.ensure_future(self.hosted.predict(model, inputs, "shadow"))
        self._shadows.add(task)  # held until done; its outcome is counted, never raised
        task.add_done_callback(_forget(self._shadows))
        return True

    async def chat(self, request: Request) -> Response:
        """``POST /v1/chat/completions`` (``chat.py``)."""
        started = time.perf_counter()
        request_id = given_request_id(request.scope)
        try:
            return await chat_completions(self, request, request_id, started)
        except ModelkeepError as exc:
            return _error(exc, request_id)
        except Exception as exc:  # a local model's own error, or outputs that are not JSON
            return _error(failure(exc, "the model raised"), request_id)

    async def answer(self, ref: str, inputs: Any, arm: str = "",
                     trial: Trial | None = None) -> Answer:
        """``ref``'s outputs for ``inputs``, counted for the gates (and the A/B ``trial``): a
        failure of the version (it raised, hung or is not loaded) is an error; a bad request is
        not the version's. A hosted version is called through the upstream client
        (``hosted_calls.py``), which counts and costs the call itself (by ``arm``)."""
        started = time.perf_counter()
        try:
            model = self.pool.get(ref)
        except ModelkeepError as exc:
            self._count_failure(ref, trial, started, exc)
            raise
        if isinstance(model, HostedModel):  # the caller counts it for the gates and costs
            with counted(self.arms, trial):  # and the A/B test's arm, like a local answer
                return await self.hosted.predict(model, inputs, arm)
        config = self.watcher.config(ref)
        try:
            if config.isolation == "inline" and not isinstance(model, WorkerModel):
                # opt-in: on the event loop, no thread hop and no timeout (a hang blocks the
                # gateway; docs/gateway.md, "Inline versions")
                answer = timed(model, inputs)
            else:
                # a version in worker processes caps itself: one request per worker
                cap = None if isinstance(model, WorkerModel) else config.threads
                answer = await self.limits.run(
                    ref, cap, config.timeout or self.caller.timeout,
                    lambda left: self.caller.call(model, inputs, left))
        except ModelkeepError as exc:
            self._count_failure(ref, trial, started, exc)
            raise
        except Exception:
            self._count(ref, trial, started, error=True, code="loader_failed")
            raise
        self._count(ref, trial, started)
        return answer

    def _count_failure(self, ref: str, trial: Trial | None, started: float,
                       exc: ModelkeepError) -> None:
        """A failure of the version itself (5xx) counts as its error; a bad request does not."""
        if exc.http_status >= 500:
            self._count(ref, trial, started, error=True,
                        timeout=isinstance(exc, PredictionTimeoutError), code=exc.code)

    def _count(self, ref: str, trial: Trial | None, started: float, *, error: bool = False,
               timeout: bool = False, code: str = "") -> None:
        seconds = time.perf_counter() - started
        self.meter.record(ref, seconds, error=error, timeout=timeout, code=code)
        if trial is not None:
            self.arms.record(trial, seconds, error=error, timeout=timeout)

    async def feedback(self, request: Request) -> Response:
        """``POST /v1/feedback``: joined to the version that answered, stored within a second."""
        try:
            body = await request.body()
            try:
                payload = json.loads(body)
            except (ValueError, UnicodeDecodeError) as exc:
                raise InvalidInputError(f"the feedback is not valid JSON: {exc}",
                                        hint='send {"request_id": ID, "label": ...}') from None
            # checked before the join, which marks the answer as having its feedback
            outcome = check_outcome(payload.get("outcome") if isinstance(payload, dict) else None)
            model, item = join(payload, self.recent, self.watcher.deployments,
                               self.settings.keep_stable)
        except ModelkeepError as exc:
            return _error(exc)
        self.inbox.add(model, item)
        arm = self.arms.feedback(model, item, outcome, self.watcher.deployments.get(model))
        extra = {"outcome": outcome, "arm": arm} if outcome or arm else {}
        return JSONResponse({"model": model, **item.to_dict(), **extra}, status_code=202)

    def models(self, request: Request) -> Response:
        health = {h.ref: h for h in self.pool.health()}
        totals = self.meter.totals()
        out = []
        for name, d in sorted(self.watcher.deployments.items()):
            refs = [f"{name}@{v}" for v in d.serving(self.settings.keep_stable)]
            out.append({**d.to_dict(), "versions": [
                {**(health[r].to_dict() if r in health else {"ref": r, "status": "loading"}),
                 "served_here": totals[r].to_dict() if r in totals else None,
                 "placement": (self.placer.placements[r].to_dict()
                               if r in self.placer.placements else None)}
                for r in refs]})
        return JSONResponse({"models": out, "revision": self.watcher.revision})

    def health(self, request: Request) -> Response:
        versions = self.pool.health()
        if not self.watcher.ready.is_set():
            status = "starting"
        elif self.watcher.poll_error or any(v.status != "healthy" for v in versions):
            status = "degraded"
        else:
            status = "ok"
        body = {"status": status, "revision": self.watcher.revision,
                "poll_error": self.watcher.poll_error,
                "report_error": self.watcher.gatekeeper.last_error,
                "payload_error": self.payloads.last_error if self.payloads else "",
                "process": os.getpid(),  # which of a gateway's --workers answered
                "versions": [v.to_dict() for v in versions]}
        return JSONResponse(body, status_code=503 if status == "starting" else 200)


def _forget(tasks: set[asyncio.Task[Any]]) -> Any:
    def done(task: asyncio.Task[Any]) -> None:
        tasks.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a failed shadow copy is no unhandled error
    return done


async def _not_found(request: Request, exc: Exception) -> Response:
    return _error(NotDeployedError(f"no such endpoint: {request.method} {request.url.path}",
                                   hint="POST /v1/models/NAME/predict, GET /v1/models, GET /healthz"))


def create_app(keep: ServingKeep, settings: GatewaySettings | None = None) -> ASGIApp:
    """The gateway app for ``keep``: it starts polling the keep's deployments when served."""
    gateway = Gateway(keep, settings or GatewaySettings())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        with contextlib.suppress(Exception):  # budgets known before the first call (else: at
            gateway.spend.refresh()           # the first report, with the error in /healthz)
        gateway.watcher.start()
        if gateway.settings.load_before_serving:
            await asyncio.to_thread(gateway.watcher.ready.wait, 300)
        if gateway.payloads is not None:
            gateway.payloads.start()
        try:
            yield
        finally:
            gateway.watcher.stop()
            gateway.caller.close()
            gateway.shadow.close()
            await gateway.upstream.close()
            if gateway.payloads is not None:
                gateway.payloads.stop()
            gateway.metrics.close()

    routes = [Route("/v1/models/{name}/predict", PredictRoute(gateway), methods=["POST"]),
              Route("/v1/models", gateway.models, methods=["GET"]),
              Route("/v1/chat/completions", gateway.chat, methods=["POST"]),
              Route("/v1/feedback", gateway.feedback, methods=["POST"]),
              Route("/healthz", gateway.health, methods=["GET"]),
              Route("/metrics", gateway.metrics.endpoint, methods=["GET"])]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={404: _not_found})
    # predict goes first, past Starlette and the response counting wrapper (it counts its own
    # responses); the counting wraps Starlette whole, so its own 500s are counted too
    return PredictFirst(CountResponses(app, metrics=gateway.metrics), gateway=gateway)
