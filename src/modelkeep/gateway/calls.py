"""Calling a model off the event loop: a thread pool and a per-request timeout.

A model's ``predict`` is ordinary blocking Python, so it runs in a worker thread while the event
loop keeps serving other requests. A call that outlives the timeout is answered with
``PredictionTimeoutError`` (504) at once; Python cannot stop a thread, so the hung call keeps
its worker until it returns, and the pool is sized so that a few hung calls leave room for the
rest (worker processes, which can be killed, are the later answer for models that hang).
"""

from __future__ import annotations

import asyncio
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


def _timed(model: LoadedModel, inputs: Any) -> Answer:
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


class Caller:
    """Runs predictions in ``threads`` worker threads, each limited to ``timeout`` seconds."""

    def __init__(self, *, threads: int = 32, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._pool = DaemonPool(threads, "modelkeep-predict")

    async def call(self, model: LoadedModel, inputs: Any, timeout: float | None = None) -> Answer:
        """``model.predict(inputs)`` in a worker thread; ``PredictionTimeoutError`` past
        ``timeout`` (default the caller's; the model's own errors propagate as they are)."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, _timed, model, inputs)
        limit = self.timeout if timeout is None else timeout
        try:
            return await asyncio.wait_for(future, limit)
        except TimeoutError:
            raise PredictionTimeoutError(
                f"{model.ref} did not answer within {limit:g} s", ref=model.ref,
                timeout=limit) from None

    def close(self) -> None:
        """Stop taking work; hung calls are left to finish on their own."""
        self._pool.shutdown(wait=False)
