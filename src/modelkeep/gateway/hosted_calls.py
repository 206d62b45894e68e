"""One call to a hosted version from the gateway: reserve, call the upstream, count, settle.

Both endpoints that reach a hosted version come through here: ``predict`` (``{"inputs": ...}``
in, ``{"text", "usage"}`` out) and chat completions (the upstream's answer passed through,
streamed or not). Each call reserves its worst-case cost when the version has a budget
(``spend.py``), is counted for the gates (latency; an upstream failure after its retries is an
error, a timeout also a timeout) and for cost: the upstream's reported usage at the version's
price, or the worst case when it reported none (never under-counted); a failed call costs 0.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import anyio

from modelkeep.errors import UpstreamError, UpstreamTimeoutError
from modelkeep.registry.loaders.hosted import HostedModel, messages_of, request_body, worst_case

from .calls import Answer
from .meter import Meter
from .spend import Spend
from .upstream import Completion, Upstream


@dataclass(frozen=True)
class Charged:
    """A finished call: the upstream's answer and what it cost (micro-units)."""

    completion: Completion
    micros: int


class HostedCaller:
    """Calls hosted versions through ``upstream``, counted in ``meter`` and ``spend``."""

    def __init__(self, meter: Meter, spend: Spend, upstream: Upstream) -> None:
        self.meter = meter
        self.spend = spend
        self.upstream = upstream

    def _failed(self, model: HostedModel, arm: str, seconds: float, exc: BaseException) -> None:
        self.meter.record(model.ref, seconds, error=True,
                          timeout=isinstance(exc, UpstreamTimeoutError),
                          code=getattr(exc, "code", "upstream_failed"), shadow=arm == "shadow")
        self.spend.add(model.ref, arm, model.spec.price.currency, error=True)

    def _done(self, model: HostedModel, arm: str, seconds: float,
              usage: tuple[int, int] | None, worst: int) -> int:
        micros = model.spec.price.cost(*usage) if usage else worst
        inp, out = usage or (0, 0)
        self.meter.record(model.ref, seconds, shadow=arm == "shadow")
        self.spend.add(model.ref, arm, model.spec.price.currency, input_tokens=inp,
                       output_tokens=out, micros=micros)
        return micros

    async def complete(self, model: HostedModel, chat: Mapping[str, Any], arm: str) -> Charged:
        """One non-streaming chat completion for the caller's ``chat`` request."""
        body = request_body(model.spec, {**chat, "stream": False})
        worst = worst_case(model.spec, body)
        reserved = await self.spend.reserve(model.ref, worst)
        started = time.perf_counter()
        try:
            completion = await self.upstream.complete(model, body)
        except Exception as exc:
            self._failed(model, arm, time.perf_counter() - started, exc)
            await self.spend.settle(model.ref, reserved, 0)
            raise
        micros = self._done(model, arm, time.perf_counter() - started, completion.usage, worst)
        await self.spend.settle(model.ref, reserved, micros)
        return Charged(completion, micros)

    async def predict(self, model: HostedModel, inputs: Any, arm: str) -> Answer:
        """The predict endpoint's answer: ``{"text", "usage"}``; the upstream's time is the
        model's (the rest is the gateway's overhead)."""
        charged = await self.complete(model, {"messages": messages_of(inputs)}, arm)
        answer = charged.completion.answer
        try:
            text = answer["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise UpstreamError(f"{model.ref}: the upstream's answer has no "
                                "choices[0].message.content", ref=model.ref) from None
        inp, out = charged.completion.usage or (0, 0)
        return Answer({"text": text, "usage": {"prompt_tokens": inp, "completion_tokens": out}},
                      charged.completion.upstream_seconds)

    async def open_stream(self, model: HostedModel, chat: Mapping[str, Any],
                          arm: str) -> AsyncIterator[bytes]:
        """A started stream: the budget is reserved and the first chunk has arrived (so a
        failure before it is an ordinary error answer); the rest follows as it comes."""
        body = request_body(model.spec, {**chat, "stream": True})
        worst = worst_case(model.spec, body)
        reserved = await self.spend.reserve(model.ref, worst)
        usage: list[tuple[int, int]] = []
        started = time.perf_counter()
        chunks = self.upstream.stream(model, body, usage)
        try:
            first = await anext(chunks)
        except StopAsyncIteration:
            exc = UpstreamError(f"{model.ref}: the upstream ended the stream without a chunk",
                                ref=model.ref)
            self._failed(model, arm, time.perf_counter() - started, exc)
            await self.spend.settle(model.ref, reserved, 0)
            raise exc from None
        except Exception as exc:
            self._failed(model, arm, time.perf_counter() - started, exc)
            await self.spend.settle(model.ref, reserved, 0)
            raise
        return self._rest(model, arm, first, chunks, usage, worst, reserved, started)

    async def _rest(self, model: HostedModel, arm: str, first: bytes,
                    chunks: AsyncIterator[bytes], usage: list[tuple[int, int]], worst: int,
                    reserved: int | None, started: float) -> AsyncIterator[bytes]:
        failed: BaseException | None = None
        try:
            yield first
            async for chunk in chunks:
                yield chunk
        except UpstreamError as exc:  # after the first chunk: the caller hears it in-stream
            failed = exc
            yield f"data: {_event(exc)}\n\n".encode()
        finally:
            seconds = time.perf_counter() - started
            if failed is not None:
                self._failed(model, arm, seconds, failed)
            # a stream cut short by its caller still cost what the upstream reported so far
            micros = self._done(model, arm, seconds, usage[-1] if usage else None, worst) \
                if failed is None else 0
            # a caller that hung up cancels this stream: the settlement must still happen, or
            # the reservation would hold the budget until someone clears it
            with anyio.CancelScope(shield=True):
                await self.spend.settle(model.ref, reserved, micros)


def _event(exc: UpstreamError) -> str:
    import json

    return json.dumps(exc.to_dict(), separators=(",", ":"))
