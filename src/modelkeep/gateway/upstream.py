"""Calling hosted versions' upstreams: one pooled HTTP/1.1 client, bounded retries.

Every call goes to the URL of the provider the version names in the keep's config (never one a
request names) with the key read at call time in the ``Authorization`` header only. A 429, a
5xx, a timeout, a refused or broken connection or an answer that is not JSON is tried again,
at most ``retries`` more times, after an exponential backoff (50 ms, 100 ms, 200 ms ... with
jitter, or the upstream's ``Retry-After`` up to 2 s); then the caller gets one clear
``UpstreamError`` (502) or ``UpstreamTimeoutError`` (504) naming what the upstream did, and the
gates count it as the version's error. Other 4xx answers, and an answer over ``MAX_ANSWER``
bytes, are not retried.

The provider's ``timeout`` bounds a whole try of a completion (connecting, sending, and the
last byte of the answer: an upstream that drips its answer cannot hold a call longer), and
each wait of a stream (its first byte, then every next piece). A stream is retried only until
its first chunk reaches the caller; a failure after that ends the stream with an SSE ``error``
event. The client is ``http1.py`` (why not httpx: its docstring and docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any

from modelkeep.errors import UpstreamError, UpstreamTimeoutError
from modelkeep.registry.loaders.hosted import HostedModel, usage_of

from .http1 import HTTP1Pool, HTTPFailure, Response, TooLarge

BACKOFF = 0.05  # seconds before the first retry; doubled for each next one
MAX_BACKOFF = 2.0
RETRIED = frozenset({429, 500, 502, 503, 504})
MAX_ANSWER = 16 * 1024 * 1024  # bytes of a completion, or of one streamed line
MAX_STREAM = 256 * 1024 * 1024  # bytes of a whole stream (passed on as it comes, never held)
_LINE_END = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True)
class Completion:
    """An upstream's answer: its JSON, the usage it reported (None: it reported none), the
    tries it took and the seconds spent waiting on the upstream."""

    answer: dict[str, Any]
    usage: tuple[int, int] | None
    attempts: int
    upstream_seconds: float
    raw: bytes = b""  # the answer's bytes as the upstream sent them (passed on unchanged)


class _Retry(Exception):
    """One failed try worth another: ``why`` says what the upstream did."""

    def __init__(self, why: str, *, timeout: bool = False, wait: float | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.timeout = timeout
        self.wait = wait


def _retry_after(response: Response) -> float | None:
    try:
        return min(float(response.header(b"retry-after") or ""), MAX_BACKOFF)
    except ValueError:
        return None


def _check_status(model: HostedModel, response: Response) -> None:
    if response.status == 200:
        return
    if response.status in RETRIED:
        raise _Retry(f"answered {response.status}", wait=_retry_after(response))
    what = ("refused the API key" if response.status in (401, 403)
            else f"answered {response.status}")
    raise UpstreamError(f"{model.ref}: the upstream of provider '{model.provider.name}' {what}",
                        ref=model.ref, status=response.status)


def _worth_retrying(model: HostedModel, exc: Exception) -> _Retry:
    """The failed try as a ``_Retry``; ``UpstreamError`` raised for what trying again cannot
    mend (an answer too large, a header that cannot be sent)."""
    if isinstance(exc, _Retry):
        return exc
    if isinstance(exc, TimeoutError):
        return _Retry(f"did not answer within {model.provider.timeout:g} s", timeout=True)
    if isinstance(exc, HTTPFailure) and exc.retried:
        return _Retry(str(exc))
    raise UpstreamError(f"{model.ref}: the upstream of provider '{model.provider.name}' {exc}",
                        ref=model.ref) from None


def _request(model: HostedModel, body: dict[str, Any],
             accept: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The request's bytes and headers: JSON as httpx wrote it, the key read now."""
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode()
    headers = [(b"content-type", b"application/json"), (b"accept", accept),
               (b"user-agent", b"modelkeep-gateway")]
    headers += [(k.lower().encode(), v.encode()) for k, v in model.provider.headers().items()]
    return data, headers


def _give_up(model: HostedModel, last: _Retry, attempts: int) -> UpstreamError:
    cls = UpstreamTimeoutError if last.timeout else UpstreamError
    return cls(f"{model.ref}: the upstream of provider '{model.provider.name}' {last.why} "
               f"({attempts} tr{'y' if attempts == 1 else 'ies'})", ref=model.ref,
               attempts=attempts)


class Upstream:
    """The gateway's client for every upstream (connections kept alive and pooled per host)."""

    def __init__(self, *, max_connections: int = 512) -> None:
        self.pool = HTTP1Pool(max_connections=max_connections)

    async def _backoff(self, attempt: int, last: _Retry) -> None:
        wait = last.wait if last.wait is not None else BACKOFF * 2 ** (attempt - 1)
        await asyncio.sleep(min(wait, MAX_BACKOFF) * random.uniform(0.8, 1.2))

    async def complete(self, model: HostedModel, body: dict[str, Any]) -> Completion:
        """One chat completion (``body`` from ``request_body``), with retries."""
        loop = asyncio.get_running_loop()
        data, headers = _request(model, body, b"application/json")
        tries = model.provider.retries + 1
        waited = 0.0
        for attempt in range(1, tries + 1):
            started = loop.time()
            try:
                try:
                    async with asyncio.timeout(model.provider.timeout):
                        async with self.pool.post(model.provider.chat_url, data,
                                                  headers) as response:
                            raw = await response.body(MAX_ANSWER)
                finally:
                    waited += loop.time() - started
                _check_status(model, response)
                try:
                    answer = json.loads(raw)
                except ValueError:
                    raise _Retry("answered malformed JSON") from None
                if not isinstance(answer, dict):
                    raise _Retry("answered JSON that is not a chat completion")
                return Completion(answer, usage_of(answer), attempt, waited, raw)
            except (_Retry, TimeoutError, HTTPFailure) as exc:
                last = _worth_retrying(model, exc)
            if attempt < tries:
                await self._backoff(attempt, last)
        raise _give_up(model, last, tries)

    async def stream(self, model: HostedModel, body: dict[str, Any],
                     usage: list[tuple[int, int]]) -> AsyncIterator[bytes]:
        """The upstream's SSE lines (each ending in a blank line), passed through; ``usage``
        gets the usage the stream reported. Retried until the first chunk is passed on."""
        data, headers = _request(model, body, b"text/event-stream")
        limit = model.provider.timeout
        tries = model.provider.retries + 1
        for attempt in range(1, tries + 1):
            sent = False
            try:
                # each wait has its own time limit, none spans a yield: the caller's pace is
                # not the upstream's, and the caller may read on from another task
                async with contextlib.AsyncExitStack() as stack:
                    async with asyncio.timeout(limit):
                        response = await stack.enter_async_context(
                            self.pool.post(model.provider.chat_url, data, headers))
                    _check_status(model, response)
                    lines = await stack.enter_async_context(
                        contextlib.aclosing(_lines(response.chunks(MAX_STREAM))))
                    while True:
                        async with asyncio.timeout(limit):
                            line = await anext(lines, None)
                        if line is None:
                            return
                        if not line.startswith(b"data:"):
                            continue
                        payload = line[5:].strip()
                        if payload != b"[DONE]":
                            try:
                                chunk = json.loads(payload)
                            except ValueError:
                                raise _Retry("streamed malformed JSON") from None
                            found = usage_of(chunk) if isinstance(chunk, dict) else None
                            if found:
                                usage.append(found)
                        sent = True
                        yield b"data: " + payload + b"\n\n"
            except (_Retry, TimeoutError, HTTPFailure) as exc:
                last = _worth_retrying(model, exc)
            if sent or attempt == tries:
                raise _give_up(model, last, attempt)
            await self._backoff(attempt, last)

    async def close(self) -> None:
        await self.pool.close()


async def _lines(chunks: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    """The lines of a body (ended by CRLF, LF or CR, as SSE allows), each at most MAX_ANSWER
    bytes; a CR and LF split across two pieces give one empty line more (SSE skips it)."""
    pending = bytearray()
    async for piece in chunks:
        pending += piece
        if b"\n" not in piece and b"\r" not in piece:
            if len(pending) > MAX_ANSWER:
                raise TooLarge(f"streamed a line over the {MAX_ANSWER} bytes allowed")
            continue
        *lines, rest = _LINE_END.split(pending)
        if len(rest) > MAX_ANSWER:
            raise TooLarge(f"streamed a line over the {MAX_ANSWER} bytes allowed")
        pending = bytearray(rest)
        for line in lines:
            yield bytes(line)
    if pending:
        yield bytes(pending)
