"""A lean pooled HTTP/1.1 client on asyncio for the gateway's upstream calls (h11 parses).

Why not httpx here: on this machine one keep-alive POST through ``httpx.AsyncClient`` cost
1.2-1.8 ms of CPU, through this client 0.3-0.4 ms (``benchmarks/hosted.py``, "outbound hop";
docs/architecture.md); httpx builds a Request, runs anyio's stream layers and sends headers and body in two
writes, each waking the upstream. Here a call is one write of the whole request and one
``asyncio.Protocol`` feeding h11, which checks the response as strictly as httpx did
(Content-Length and chunked bodies, a malformed or cut-off body is an error).

What it keeps: connections kept alive and pooled per origin (at most ``max_connections`` in
use, an idle one dropped after ``keepalive_expiry`` s or as soon as its peer closes or sends
anything unasked), TCP_NODELAY, https with the certificates httpx trusted (certifi's), no
proxy or ``.netrc`` (it reads no environment), no redirect followed (a 3xx is an answer like
any other), ``Accept-Encoding: identity`` (an answer in another encoding is refused), and every
read bounded: a head over 64 KiB is a broken answer, a body over ``limit`` bytes is
``TooLarge`` before it is held in memory. A connection is given back to the pool only after a
whole, clean exchange.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import ssl
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import h11

MAX_HEAD = 64 * 1024  # bytes of a response's status line and headers
HIGH_WATER = 256 * 1024  # bytes received and not yet read before the socket stops reading


class HTTPFailure(Exception):
    """A call that failed below HTTP's meaning; the message says what the upstream did
    ("could not be reached (...)") and never quotes a header or the upstream's bytes."""

    retried = True  # whether another try may go better


class ConnectFailed(HTTPFailure):
    """The upstream could not be reached (refused, no route, TLS refused)."""


class ConnectionBroken(HTTPFailure):
    """The connection broke, or the upstream's answer is not valid HTTP/1.1."""


class TooLarge(HTTPFailure):
    """The answer (or one streamed line) is larger than the caller's bound."""

    retried = False


class BadRequestHeaders(HTTPFailure):
    """Our own request could not be written (a header value that is not one line of text)."""

    retried = False


@dataclass(frozen=True)
class Target:
    """Where a URL's requests go: the origin that pools connections, and the request line."""

    scheme: str
    host: str
    port: int
    path: bytes
    host_header: bytes

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.port


@functools.lru_cache(maxsize=256)
def target_of(url: str) -> Target:
    """The parsed ``url`` (http or https), cached: the same few URLs are called again and again."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url}")
    default = 443 if parts.scheme == "https" else 80
    port = parts.port or default
    host = parts.hostname
    shown = f"[{host}]" if ":" in host else host
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path.encode("ascii"),
                  (shown if port == default else f"{shown}:{port}").encode("ascii"))


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection: received bytes are queued for the exchange that reads them;
    past HIGH_WATER unread bytes the socket stops reading (a slow reader never buffers more)."""

    def __init__(self, origin: tuple[str, str, int]) -> None:
        self.origin = origin
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        self.transport: asyncio.Transport | None = None
        self._received: deque[bytes] = deque()
        self._size = 0
        self._paused = False
        self._eof = False
        self._waiter: asyncio.Future[None] | None = None
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # Nagle off: a request must never wait for the ACK of the one before
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self._received.append(data)
        self._size += len(data)
        if self._size > HIGH_WATER and not self._paused and self.transport is not None:
            self.transport.pause_reading()
            self._paused = True
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def receive(self) -> bytes:
        """The bytes received since the last call (waiting for some); b"" at the peer's EOF."""
        while not self._received:
            if self._eof:
                return b""
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        data = self._received.popleft() if len(self._received) == 1 else b"".join(self._received)
        self._received.clear()
        self._size = 0
        if self._paused and self.transport is not None:
            self.transport.resume_reading()
            self._paused = False
        return data

    def reusable(self, now: float, expiry: float) -> bool:
        """Whether an idle connection can carry another request: open, silent, not too old."""
        return (not self._eof and not self._received and now - self.idle_since < expiry
                and self.transport is not None and not self.transport.is_closing())

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()  # no lingering: a half-read answer is dropped


class Response:
    """An answer's status and headers; its body read whole (bounded) or piece by piece."""

    def __init__(self, conn: _Connection, head: h11.Response) -> None:
        self._conn = conn
        self.status = head.status_code
        self.headers = head.headers
        self.complete = False  # the whole body was read and the exchange ended cleanly

    def header(self, name: bytes) -> str | None:
        """The first header ``name`` (lower case), or None."""
        for key, value in self.headers:
            if key == name:
                return value.decode("latin-1")
        return None

    async def chunks(self, limit: int) -> AsyncIterator[bytes]:
        """The body as it arrives; ``TooLarge`` past ``limit`` bytes in all."""
        encoding = (self.header(b"content-encoding") or "identity").strip().lower()
        if encoding != "identity":
            raise ConnectionBroken(f"answered in the encoding '{encoding[:40]}', not the "
                                   "identity asked for")
        announced = self.header(b"content-length")
        if announced is not None and announced.strip().isdigit() and int(announced) > limit:
            raise TooLarge(f"announced an answer of {int(announced)} bytes, over the {limit} "
                           "allowed")
        seen = 0
        while True:
            event = await _next_event(self._conn)
            if isinstance(event, h11.Data):
                seen += len(event.data)
                if seen > limit:
                    raise TooLarge(f"sent an answer over the {limit} bytes allowed")
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self.complete = True
                return
            else:  # ConnectionClosed before the end, or anything unexpected
                raise ConnectionBroken("broke off the connection (before the answer ended)")

    async def body(self, limit: int) -> bytes:
        """The whole body; ``TooLarge`` past ``limit`` bytes."""
        parts = [part async for part in self.chunks(limit)]
        return parts[0] if len(parts) == 1 else b"".join(parts)


class HTTP1Pool:
    """Keep-alive HTTP/1.1 connections, pooled per origin, for POSTs of JSON bodies."""

    def __init__(self, *, max_connections: int = 512, keepalive_expiry: float = 4.0) -> None:
        self.keepalive_expiry = keepalive_expiry
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._tls: ssl.SSLContext | None = None

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            try:
                import certifi  # the certificates httpx verified upstreams with

                context = ssl.create_default_context(cafile=certifi.where())
            except ImportError:
                context = ssl.create_default_context()
            context.set_alpn_protocols(["http/1.1"])
            self._tls = context
        return self._tls

    def _take(self, origin: tuple[str, str, int], now: float) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()  # the most recently used: the least likely to have expired
            if conn.reusable(now, self.keepalive_expiry):
                return conn
            conn.close()
        return None

    async def _connect(self, target: Target) -> _Connection:
        loop = asyncio.get_running_loop()
        tls = self._tls_context() if target.scheme == "https" else None
        try:
            _, conn = await loop.create_connection(
                lambda: _Connection(target.origin), target.host, target.port, ssl=tls,
                server_hostname=target.host if tls else None)
        except OSError as exc:  # refused, unreachable, DNS, TLS verification (ssl.SSLError)
            raise ConnectFailed(f"could not be reached ({type(exc).__name__})") from None
        return conn

    def _give_back(self, conn: _Connection) -> None:
        conn.idle_since = asyncio.get_running_loop().time()
        self._idle.setdefault(conn.origin, []).append(conn)

    @contextlib.asynccontextmanager
    async def post(self, url: str, body: bytes,
                   headers: Sequence[tuple[bytes, bytes]]) -> AsyncIterator[Response]:
        """POST ``body`` to ``url`` with ``headers`` (besides Host, Content-Length and
        Accept-Encoding); the answer's head, its body to be read inside the block. Time limits
        are the caller's (``asyncio.timeout``): a cancelled call closes its connection."""
        target = target_of(url)
        try:
            request = h11.Request(method=b"POST", target=target.path, headers=[
                (b"host", target.host_header), *headers, (b"accept-encoding", b"identity"),
                (b"content-length", str(len(body)).encode())])
        except h11.LocalProtocolError:  # its message would quote the value (a key)
            raise BadRequestHeaders("was not called: a request header is not one line of "
                                    "text (is the API key one line?)") from None
        async with self._slots:
            loop = asyncio.get_running_loop()
            conn = self._take(target.origin, loop.time()) or await self._connect(target)
            response: Response | None = None
            try:
                data = (conn.h11.send(request) or b"") + \
                    (conn.h11.send(h11.Data(data=body)) or b"") + \
                    (conn.h11.send(h11.EndOfMessage()) or b"")
                if conn.transport is None or conn.transport.is_closing():
                    raise ConnectionBroken("broke off the connection (before the request was "
                                           "sent)")
                conn.transport.write(data)  # one write: the upstream wakes once
                response = await _head(conn)
                yield response
            finally:
                if response is not None and response.complete and \
                        conn.h11.our_state is h11.DONE and conn.h11.their_state is h11.DONE:
                    conn.h11.start_next_cycle()
                    self._give_back(conn)
                else:
                    conn.close()

    async def close(self) -> None:
        """Close every idle connection."""
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


async def _next_event(conn: _Connection) -> h11.Event | type[h11.PAUSED]:
    """The next thing h11 reads from ``conn`` (waiting for bytes as needed)."""
    while True:
        try:
            event = conn.h11.next_event()
            if event is h11.NEED_DATA:
                conn.h11.receive_data(await conn.receive())
                continue
        except h11.RemoteProtocolError:
            # h11's message may quote the upstream's bytes: not for an error message
            raise ConnectionBroken("broke off the connection (an answer that is not valid "
                                   "HTTP/1.1, or cut short)") from None
        return cast(h11.Event | type[h11.PAUSED], event)


async def _head(conn: _Connection) -> Response:
    """The status line and headers of the answer (1xx interim answers skipped)."""
    while True:
        event = await _next_event(conn)
        if isinstance(event, h11.Response):
            return Response(conn, event)
        if not isinstance(event, h11.InformationalResponse):
            raise ConnectionBroken("broke off the connection (no answer)")
