"""Calling hosted versions' upstreams: one pooled async HTTP client, bounded retries.

Every call goes to the URL of the provider the version names in the keep's config (never one a
request names) with the key read at call time in the ``Authorization`` header only. A 429, a
5xx, a timeout, a refused connection or an answer that is not JSON is tried again, at most
``retries`` more times, after an exponential backoff (50 ms, 100 ms, 200 ms ... with jitter,
or the upstream's ``Retry-After`` up to 2 s); then the caller gets one clear
``UpstreamError`` (502) or ``UpstreamTimeoutError`` (504) naming what the upstream did, and the
gates count it as the version's error. Other 4xx answers are not retried.

A stream is retried only until its first chunk reaches the caller; a failure after that ends
the stream with an SSE ``error`` event.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from modelkeep.errors import UpstreamError, UpstreamTimeoutError
from modelkeep.registry.loaders.hosted import HostedModel, usage_of

BACKOFF = 0.05  # seconds before the first retry; doubled for each next one
MAX_BACKOFF = 2.0
RETRIED = frozenset({429, 500, 502, 503, 504})


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


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return min(float(response.headers.get("retry-after", "")), MAX_BACKOFF)
    except ValueError:
        return None


def _transport(exc: httpx.TransportError) -> _Retry:
    what = ("could not be reached" if isinstance(exc, httpx.ConnectError)
            else "broke off the connection")
    return _Retry(f"{what} ({type(exc).__name__})")


def _check_status(model: HostedModel, response: httpx.Response) -> None:
    if response.status_code == 200:
        return
    if response.status_code in RETRIED:
        raise _Retry(f"answered {response.status_code}", wait=_retry_after(response))
    what = ("refused the API key" if response.status_code in (401, 403)
            else f"answered {response.status_code}")
    raise UpstreamError(f"{model.ref}: the upstream of provider '{model.provider.name}' {what}",
                        ref=model.ref, status=response.status_code)


def _give_up(model: HostedModel, last: _Retry, attempts: int) -> UpstreamError:
    cls = UpstreamTimeoutError if last.timeout else UpstreamError
    return cls(f"{model.ref}: the upstream of provider '{model.provider.name}' {last.why} "
               f"({attempts} tr{'y' if attempts == 1 else 'ies'})", ref=model.ref,
               attempts=attempts)


class Upstream:
    """The gateway's client for every upstream (connections kept alive and pooled per host)."""

    def __init__(self, *, max_connections: int = 512) -> None:
        limits = httpx.Limits(max_connections=max_connections,
                              max_keepalive_connections=max_connections)
        # Nagle off: httpcore writes a request's headers and body apart, and the body must not
        # wait for the ACK of the headers
        transport = httpx.AsyncHTTPTransport(
            limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        # trust_env off: no proxy or .netrc from the environment decides where a call goes
        self.client = httpx.AsyncClient(transport=transport, trust_env=False,
                                        follow_redirects=False)

    async def _backoff(self, attempt: int, last: _Retry) -> None:
        wait = last.wait if last.wait is not None else BACKOFF * 2 ** (attempt - 1)
        await asyncio.sleep(min(wait, MAX_BACKOFF) * random.uniform(0.8, 1.2))

    async def complete(self, model: HostedModel, body: dict[str, Any]) -> Completion:
        """One chat completion (``body`` from ``request_body``), with retries."""
        loop = asyncio.get_running_loop()
        tries = model.provider.retries + 1
        waited = 0.0
        for attempt in range(1, tries + 1):
            started = loop.time()
            try:
                response = await self.client.post(model.provider.chat_url, json=body,
                                                  headers=model.provider.headers(),
                                                  timeout=model.provider.timeout)
                waited += loop.time() - started
                _check_status(model, response)
                try:
                    answer = response.json()
                except ValueError:
                    raise _Retry("answered malformed JSON") from None
                if not isinstance(answer, dict):
                    raise _Retry("answered JSON that is not a chat completion")
                return Completion(answer, usage_of(answer), attempt, waited, response.content)
            except _Retry as exc:
                last = exc
            except httpx.TimeoutException:
                waited += loop.time() - started
                last = _Retry(f"did not answer within {model.provider.timeout:g} s", timeout=True)
            except httpx.TransportError as exc:
                waited += loop.time() - started
                last = _transport(exc)
            if attempt < tries:
                await self._backoff(attempt, last)
        raise _give_up(model, last, tries)

    async def stream(self, model: HostedModel, body: dict[str, Any],
                     usage: list[tuple[int, int]]) -> AsyncIterator[bytes]:
        """The upstream's SSE lines (each ending in a blank line), passed through; ``usage``
        gets the usage the stream reported. Retried until the first chunk is passed on."""
        tries = model.provider.retries + 1
        for attempt in range(1, tries + 1):
            sent = False
            try:
                async with self.client.stream("POST", model.provider.chat_url, json=body,
                                              headers=model.provider.headers(),
                                              timeout=model.provider.timeout) as response:
                    _check_status(model, response)
                    async for line in response.aiter_lines():
                        if not line.startswith("data:"):
                            continue
                        data = line[5:].strip()
                        if data != "[DONE]":
                            try:
                                chunk = json.loads(data)
                            except ValueError:
                                raise _Retry("streamed malformed JSON") from None
                            found = usage_of(chunk) if isinstance(chunk, dict) else None
                            if found:
                                usage.append(found)
                        sent = True
                        yield f"data: {data}\n\n".encode()
                    return
            except _Retry as exc:
                last = exc
            except httpx.TimeoutException:
                last = _Retry(f"did not answer within {model.provider.timeout:g} s", timeout=True)
            except httpx.TransportError as exc:
                last = _transport(exc)
            if sent or attempt == tries:
                raise _give_up(model, last, attempt)
            await self._backoff(attempt, last)

    async def close(self) -> None:
        await self.client.aclose()
