"""The hop from the event loop to a prediction thread and back (``gateway/calls.py``), with real
threads: answers, the model's own errors, timeouts that block nobody, and a queued call whose
request gave up before a thread was free, which never runs."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from modelkeep.errors import PredictionTimeoutError
from modelkeep.gateway.calls import Caller


class Model:
    """A model whose ``predict`` sleeps ``inputs["sleep"]`` s (or raises), counting its calls."""

    ref = "m@1.0.0"

    def __init__(self) -> None:
        self.calls = 0
        self.threads: set[str] = set()

    def predict(self, inputs):
        self.calls += 1
        self.threads.add(threading.current_thread().name)
        if inputs.get("raise"):
            raise ValueError(inputs["raise"])
        time.sleep(inputs.get("sleep", 0))
        return {"y": inputs.get("x")}


def run(coroutine):
    return asyncio.run(coroutine)


def test_a_call_answers_from_a_worker_thread_with_the_model_time():
    caller, model = Caller(threads=2, timeout=5), Model()
    answer = run(caller.call(model, {"x": 3, "sleep": 0.05}))
    assert answer.outputs == {"y": 3} and 0.04 < answer.model_seconds < 1
    assert model.threads and all(t.startswith("modelkeep-predict-") for t in model.threads)
    caller.close()


def test_the_models_own_error_reaches_the_request_as_it_is():
    caller = Caller(threads=1, timeout=5)
    with pytest.raises(ValueError, match="bad input"):
        run(caller.call(Model(), {"raise": "bad input"}))
    assert run(caller.call(Model(), {"x": 1})).outputs == {"y": 1}  # the thread serves on
    caller.close()


def test_a_hung_call_times_out_and_the_others_are_answered_meanwhile():
    caller, model = Caller(threads=2, timeout=5), Model()

    async def both():
        hung = asyncio.ensure_future(caller.call(model, {"sleep": 1.0}, timeout=0.2))
        started = time.perf_counter()
        quick = [await caller.call(model, {"x": i}) for i in range(20)]
        quick_seconds = time.perf_counter() - started
        with pytest.raises(PredictionTimeoutError, match="within 0.2 s"):
            await hung
        return quick, quick_seconds, time.perf_counter() - started

    quick, quick_seconds, hung_seconds = run(both())
    assert [a.outputs for a in quick] == [{"y": i} for i in range(20)]
    assert quick_seconds < 0.5 and hung_seconds < 0.8  # answered at the timeout, not at 1 s
    caller.close()


def test_a_call_whose_request_gave_up_while_queued_never_runs():
    caller, model = Caller(threads=1, timeout=5), Model()

    async def queued():
        busy = asyncio.ensure_future(caller.call(model, {"sleep": 0.4}))
        await asyncio.sleep(0.05)
        with pytest.raises(PredictionTimeoutError):  # waited for the one thread, in vain
            await caller.call(model, {"x": "never"}, timeout=0.1)
        cancelled = asyncio.ensure_future(caller.call(model, {"x": "never"}))
        await asyncio.sleep(0.01)
        cancelled.cancel()
        await busy
        return await caller.call(model, {"x": "after"})

    assert run(queued()).outputs == {"y": "after"}
    assert model.calls == 2  # the busy call and the last one: the two abandoned ones never ran
    caller.close()


def test_close_ends_the_idle_threads():
    caller = Caller(threads=3, timeout=5)
    threads = list(caller._threads)
    caller.close()
    for thread in threads:
        thread.join(timeout=2)
    assert not any(thread.is_alive() for thread in threads)
