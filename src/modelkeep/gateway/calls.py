"""Calling a model off the event loop: a thread pool and a per-request timeout.

A model's ``predict`` is ordinary blocking Python, so it runs in a worker thread while the event
loop keeps serving other requests. A call that outlives the timeout is answered with
``PredictionTimeoutError`` (504) at once; Python cannot stop a thread, so the hung call keeps
its worker until it returns, and the pool is sized so that a few hung calls leave room for the
rest (worker processes, which can be killed, are the later answer for models that hang).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

from modelkeep.errors import PredictionTimeoutError
from modelkeep.registry.loaders import LoadedModel


@dataclass(frozen=True)
class Answer:
    """A model's outputs and the seconds its ``predict`` took (the rest is gateway overhead)."""

    outputs: Any
    model_seconds: float


def timed(model: LoadedModel, inputs: Any) -> Answer:
    """``model.predict(inputs)`` on this thread, with the seconds it took: what a worker thread
    runs, and what the gateway runs on its event loop for a version deployed ``inline``."""
    started = time.perf_counter()
    try:
        outputs = model.predict(inputs)
    except BaseException as exc:
        _drop_frames(exc)
        raise
    return Answer(outputs, time.perf_counter() - started)


def _drop_frames(exc: BaseException) -> None:
    """Free the model's frames of a failed call now: the exceptions it chained hold them (and
    every array their locals hold) in reference cycles that only a later GC pass would free,
    so a model that ran out of memory would leave the gateway without any."""
    seen = set()
    cause = exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        cause.__traceback__ = None
        cause = cause.__cause__ or cause.__context__


class DaemonPool(Executor):
    """A fixed pool of daemon threads. ``ThreadPoolExecutor`` joins its threads at interpreter
    exit, so one hung prediction would hold a stopping gateway for as long as it hangs."""

    def __init__(self, threads: int, name: str) -> None:
        self._queue: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
                         for i in range(threads)]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self._queue.put((future, lambda: fn(*args, **kwargs)))
        return future

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            future, call = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as exc:  # handed to whoever awaits the future
                future.set_exception(exc)
            del item, future, call  # an idle worker holds no inputs, outputs or errors

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        for _ in self._threads:
            self._queue.put(None)
        if wait:
            for thread in self._threads:
                thread.join()


# (the request's loop, its future, the model, its inputs): one prediction for a worker
_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Answer]", LoadedModel, Any]


class Caller:
    """Runs predictions in ``threads`` worker threads, each limited to ``timeout`` seconds.

    The hop is kept to the least asyncio offers: an asyncio future made on the loop, completed
    by the worker with one ``call_soon_threadsafe``, and a ``call_later`` timer for the timeout.
    ``run_in_executor`` + ``wait_for`` cost a ``concurrent.futures.Future`` (with its condition
    lock), a chained future, a done callback and a timer task on top, which measured 2-3x the
    time of this hop (docs/gateway.md, "What a request costs").
    """

    def __init__(self, *, threads: int = 32, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, name=f"modelkeep-predict-{i}",
                                          daemon=True) for i in range(threads)]
        for thread in self._threads:
            thread.start()

    async def call(self, model: LoadedModel, inputs: Any, timeout: float | None = None) -> Answer:
        """``model.predict(inputs)`` in a worker thread; ``PredictionTimeoutError`` past
        ``timeout`` (default the caller's; the model's own errors propagate as they are)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        limit = self.timeout if timeout is None else timeout
        timer = loop.call_later(limit, _expire, future)
        self._queue.put((loop, future, model, inputs))
        try:
            return await future
        except _Expired:
            raise PredictionTimeoutError(
                f"{model.ref} did not answer within {limit:g} s", ref=model.ref,
                timeout=limit) from None
        finally:
            timer.cancel()

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            loop, future, model, inputs = job
            del job
            if future.done():  # timed out or cancelled while it waited for a thread
                continue
            try:
                outcome: Answer | BaseException = timed(model, inputs)
            except BaseException as exc:  # handed to the awaiting request
                outcome = exc
            # RuntimeError: the loop closed while the model ran, so nobody is waiting
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, future, outcome)
            del loop, future, model, inputs, outcome  # an idle worker holds no inputs or outputs

    def close(self) -> None:
        """Stop taking work; hung calls are left to finish on their own."""
        for _ in self._threads:
            self._queue.put(None)


class _Expired(Exception):
    """The timer of ``Caller.call`` fired first (turned into ``PredictionTimeoutError``)."""


def _expire(future: asyncio.Future[Answer]) -> None:
    if not future.done():
        future.set_exception(_Expired())


def _settle(future: asyncio.Future[Answer], outcome: Answer | BaseException) -> None:
    """On the loop: hand the worker's outcome to the request, unless it timed out meanwhile."""
    if future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
