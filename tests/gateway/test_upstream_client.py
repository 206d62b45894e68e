"""The gateway's upstream client (upstream.py over http1.py) against a hostile HTTP/1.1 server on
loopback that writes raw bytes: huge bodies, a slow drip, malformed chunked encoding, a
connection closed mid-body or mid-stream, redirects, gzip, Retry-After, closed idle
connections; and what must always hold: keep-alive, TCP_NODELAY, the key only in its header."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from modelkeep.errors import UpstreamError, UpstreamTimeoutError
from modelkeep.gateway import upstream as upstream_module
from modelkeep.gateway.upstream import Completion, Upstream
from modelkeep.registry.hosted import HostedSpec, Price
from modelkeep.registry.loaders.hosted import HostedModel, Provider

KEY = "sk-hostile-0b9e27"
KEY_ENV = "HOSTILE_PROVIDER_KEY"
BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
ANSWER = json.dumps({"choices": [{"message": {"role": "assistant", "content": "hello"}}],
                     "usage": {"prompt_tokens": 1, "completion_tokens": 2}}).encode()

Behave = Callable[[asyncio.StreamWriter, int], Awaitable[bool]]


def answer(body: bytes = ANSWER, status: bytes = b"200 OK", extra: bytes = b"") -> bytes:
    return (b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n" % len(body) + extra + b"\r\n" + body)


def chunked(*pieces: bytes, end: bool = True, kind: bytes = b"application/json") -> bytes:
    out = b"HTTP/1.1 200 OK\r\ncontent-type: " + kind + b"\r\ntransfer-encoding: chunked\r\n\r\n"
    out += b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces)
    return out + (b"0\r\n\r\n" if end else b"")


class Hostile:
    """A raw HTTP/1.1 server on loopback: reads each request (head and Content-Length body),
    then lets ``behave(writer, n)`` answer the n-th; it returns whether to keep the connection."""

    def __init__(self, behave: Behave) -> None:
        self.behave = behave
        self.requests: list[tuple[bytes, bytes]] = []
        self.connections = 0

    async def __aenter__(self) -> Hostile:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                found = re.search(rb"content-length: *(\d+)", head, re.IGNORECASE)
                body = await reader.readexactly(int(found[1]) if found else 0)
                self.requests.append((head, body))
                if not await self.behave(writer, len(self.requests)):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def model_at(url: str, *, timeout: float = 1.0, retries: int = 2) -> HostedModel:
    spec = HostedSpec("hostile", "m", Price("USD", per_call=1))
    return HostedModel("chat@1.0.0", spec, Provider("hostile", url, KEY_ENV, None, timeout, retries))


def run(behave: Behave, *, stream: bool = False, calls: int = 1, timeout: float = 1.0,
        retries: int = 2) -> tuple[list[Any], Hostile, float]:
    """``calls`` calls one after another on one client: each a Completion, the list of a
    stream's lines (an error raised mid-stream appended last), or the UpstreamError."""
    async def go() -> tuple[list[Any], Hostile, float]:
        async with Hostile(behave) as server:
            client = Upstream()
            model = model_at(server.url, timeout=timeout, retries=retries)
            results: list[Any] = []
            started = time.monotonic()
            try:
                for _ in range(calls):
                    results.append(await _one(client, model, stream))
            finally:
                await client.close()
            return results, server, time.monotonic() - started
    return asyncio.run(go())


async def _one(client: Upstream, model: HostedModel, stream: bool) -> Any:
    if not stream:
        try:
            return await client.complete(model, BODY)
        except UpstreamError as exc:
            return exc
    lines: list[Any] = []
    try:
        async for line in client.stream(model, {**BODY, "stream": True}, []):
            lines.append(line)
    except UpstreamError as exc:
        lines.append(exc)
    return lines


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    # the client reads no environment: a proxy set here must not be where calls go
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")


def test_length_and_chunked_answers_arrive_whole_on_one_kept_alive_nodelay_connection():
    async def behave(writer: asyncio.StreamWriter, n: int) -> bool:
        if n == 1:
            writer.write(answer())
        else:  # chunked, in pieces that arrive apart
            writer.write(chunked(ANSWER[:7], ANSWER[7:30], ANSWER[30:], end=False))
            await writer.drain()
            await asyncio.sleep(0.05)
            writer.write(b"0\r\n\r\n")
        return True

    async def go() -> tuple[list[Completion], int, int]:
        async with Hostile(behave) as server:
            client = Upstream()
            model = model_at(server.url)
            got = [await client.complete(model, BODY) for _ in range(3)]
            (conn,) = client.pool._idle[("http", "127.0.0.1", int(server.url.split(":")[2][:-3]))]
            nodelay = conn.transport.get_extra_info("socket").getsockopt(
                socket.IPPROTO_TCP, socket.TCP_NODELAY)
            await client.close()
            return got, server.connections, nodelay

    got, connections, nodelay = asyncio.run(go())
    assert [c.raw for c in got] == [ANSWER] * 3 and all(c.attempts == 1 for c in got)
    assert got[0].usage == (1, 2) and got[0].answer["choices"][0]["message"]["content"] == "hello"
    assert connections == 1 and nodelay


def test_the_key_is_sent_only_in_the_authorization_header_and_no_proxy_is_used():
    async def behave(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(answer())
        return True

    results, server, _ = run(behave)
    assert isinstance(results[0], Completion)
    ((head, body),) = server.requests
    assert head.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
    assert head.count(KEY.encode()) == 1 and f"authorization: Bearer {KEY}".encode() in head
    assert KEY.encode() not in body and json.loads(body) == BODY
    assert b"accept-encoding: identity" in head


def test_a_key_that_is_not_one_line_is_never_sent_nor_shown(monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY + "\r\nX-Injected: yes")

    async def behave(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(answer())
        return True

    (error,), server, _ = run(behave)
    assert isinstance(error, UpstreamError) and "not one line" in str(error)
    assert KEY not in str(error) and server.requests == []


def test_an_answer_announced_over_the_bound_is_refused_unread_and_not_retried():
    async def behave(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % (17 * 1024 * 1024))
        await asyncio.sleep(5)  # it never sends the body: the client must not wait for it
        return False

    (error,), server, seconds = run(behave)
    assert isinstance(error, UpstreamError) and not isinstance(error, UpstreamTimeoutError)
    assert f"over the {16 * 1024 * 1024} allowed" in str(error)
    assert len(server.requests) == 1 and seconds < 0.9


@pytest.mark.parametrize("stream", [False, True])
def test_a_huge_chunked_answer_stops_at_the_bound(monkeypatch, stream):
    monkeypatch.setattr(upstream_module, "MAX_ANSWER", 256 * 1024)
    monkeypatch.setattr(upstream_module, "MAX_STREAM", 256 * 1024)
    sent = []
    piece = b"data: " + b"x" * (64 * 1024 - 8) if stream else b"x" * (64 * 1024)

    async def behave(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(chunked(end=False, kind=b"text/event-stream"))
        for _ in range(256):  # up to 16 MiB, never ending, no line end
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
            sent.append(len(piece))
        return False

    (result,), server, _ = run(behave, stream=stream)
    error = result[-1] if stream else result
    assert isinstance(error, UpstreamError) and f"over the {256 * 1024} bytes allowed" in str(error)
    assert len(server.requests) == 1  # not retried
    assert sum(sent) < 8 * 1024 * 1024  # the client hung up, it did not read on


def test_a_slow_drip_is_cut_at_the_timeout():
    async def behave(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n")
        for _ in range(1000):  # a byte every 50 ms: every read is quick, the answer never ends
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.05)
        return False

    (error,), server, seconds = run(behave, timeout=0.5, retries=1)
    assert isinstance(error, UpstreamTimeoutError)
    assert "did not answer within 0.5 s (2 tries)" in str(error)
    assert len(server.requests) == 2 and seconds < 2.0


def test_malformed_chunked_encoding_is_a_broken_connection_tried_again():
    async def behave(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz-not-hex\r\n{}\r\n")
        return False

    (error,), server, _ = run(behave)
    assert isinstance(error, UpstreamError) and "broke off the connection" in str(error)
    assert "(3 tries)" in str(error) and len(server.requests) == 3
    assert "zz-not-hex" not in str(error)  # the upstream's bytes are not quoted


@pytest.mark.parametrize("stream", [False, True])
def test_a_connection_closed_mid_body_is_an_error_never_a_short_answer(stream):
    async def behave(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(answer()[:-10])  # Content-Length promises 10 bytes more
        return False

    (result,), server, _ = run(behave, stream=stream)
    error = result[-1] if stream else result
    assert isinstance(error, UpstreamError) and "broke off the connection" in str(error)
    assert len(server.requests) == 3


FIRST = b'data: {"choices": [{"delta": {"content": "he"}}]}\n\n'


async def first_chunk(writer: asyncio.StreamWriter, then: float) -> None:
    """A stream's head and its first chunk, then ``then`` seconds of silence."""
    writer.write(chunked(FIRST, end=False, kind=b"text/event-stream"))
    await writer.drain()
    await asyncio.sleep(then)


def test_a_stream_closed_after_its_first_chunk_ends_with_the_error_untried():
    async def behave(writer: asyncio.StreamWriter, n: int) -> bool:
        await first_chunk(writer, 0.05)
        writer.write(b"40\r\ndata: {\"cho")  # half a chunk, then the connection goes
        return False

    (lines,), server, _ = run(behave, stream=True)
    assert lines[0] == FIRST
    assert isinstance(lines[1], UpstreamError) and "(1 try)" in str(lines[1])
    assert len(lines) == 2 and len(server.requests) == 1


def test_sse_lines_split_anywhere_and_ended_by_crlf_lf_or_cr_pass_through_whole():
    events = [{"choices": [{"delta": {"content": word}}]} for word in ("a", "ü", "c")]
    text = (b"data: " + json.dumps(events[0]).encode() + b"\r\n\r\n: a comment\n"
            b"data: " + json.dumps(events[1], ensure_ascii=False).encode() + b"\n\n"
            b"data: " + json.dumps(events[2]).encode() + b"\r\rdata: [DONE]\n\n")

    async def behave(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                     b"transfer-encoding: chunked\r\n\r\n")
        for i in range(0, len(text), 5):  # cut through words, UTF-8 and CRLF pairs
            writer.write(b"%x\r\n%s\r\n" % (len(text[i:i + 5]), text[i:i + 5]))
            await writer.drain()
            await asyncio.sleep(0.002)
        writer.write(b"0\r\n\r\n")
        return True

    (lines,), _, _ = run(behave, stream=True)
    assert [json.loads(line[6:]) for line in lines[:-1]] == events
    assert lines[-1] == b"data: [DONE]\n\n" and all(line.endswith(b"\n\n") for line in lines)


def test_a_redirect_is_not_followed():
    async def behave(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(answer(b"", b"307 Temporary Redirect", b"location: http://127.0.0.1:9/v1\r\n"))
        return True

    (error,), server, _ = run(behave)
    assert isinstance(error, UpstreamError) and "answered 307" in str(error)
    assert len(server.requests) == 1


def test_retry_after_is_waited_for():
    async def behave(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(answer(b"{}", b"429 Too Many Requests", b"retry-after: 0.4\r\n")
                     if n == 1 else answer())
        return True

    (result,), server, seconds = run(behave)
    assert isinstance(result, Completion) and result.attempts == 2
    assert seconds >= 0.4 * 0.8 and server.connections == 1  # the 429's connection kept


def test_an_idle_connection_the_peer_closed_is_not_used_again():
    async def behave(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(answer())
        await writer.drain()
        return False  # closes without saying so (no Connection: close)

    async def go() -> tuple[list[Completion], int]:
        async with Hostile(behave) as server:
            client = Upstream()
            model = model_at(server.url)
            got = []
            for _ in range(3):
                got.append(await client.complete(model, BODY))
                await asyncio.sleep(0.05)  # the close reaches the idle connection
            await client.close()
            return got, server.connections

    got, connections = asyncio.run(go())
    assert [c.attempts for c in got] == [1, 1, 1] and connections == 3


def test_an_answer_in_an_encoding_not_asked_for_is_refused():
    async def behave(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(answer(extra=b"content-encoding: gzip\r\n"))
        return True

    (error,), _, _ = run(behave, retries=0)
    assert isinstance(error, UpstreamError) and "encoding 'gzip'" in str(error)


def _certificate(folder) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(
                ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


def test_https_upstreams_are_verified(tmp_path):
    import ssl

    cert, key = _certificate(tmp_path)
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)

    async def go() -> tuple[Any, Any]:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, OSError):
                head = await reader.readuntil(b"\r\n\r\n")
                found = re.search(rb"content-length: *(\d+)", head, re.IGNORECASE)
                await reader.readexactly(int(found[1]))
                writer.write(answer())
                await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=served)
        model = model_at(f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1", retries=0)
        outcomes = []
        for trust in (None, cert):  # certifi's roots (the default), then this certificate
            client = Upstream()
            if trust:
                client.pool._tls = ssl.create_default_context(cafile=trust)
            outcomes.append(await _one(client, model, False))
            await client.close()
        server.close()
        return outcomes[0], outcomes[1]

    refused, accepted = asyncio.run(go())
    assert isinstance(refused, UpstreamError)
    assert "could not be reached (SSLCertVerificationError)" in str(refused)
    assert isinstance(accepted, Completion) and accepted.raw == ANSWER



def test_a_stream_that_stalls_after_its_first_chunk_ends_with_a_timeout():
    async def behave(writer: asyncio.StreamWriter, n: int) -> bool:
        await first_chunk(writer, 5)
        return False

    (lines,), server, seconds = run(behave, stream=True, timeout=0.5)
    assert lines[0] == FIRST and isinstance(lines[1], UpstreamTimeoutError)
    assert "did not answer within 0.5 s (1 try)" in str(lines[1]) and seconds < 2.0
    assert len(server.requests) == 1


def test_calls_in_flight_never_use_more_connections_than_the_pool_allows():
    async def behave(writer: asyncio.StreamWriter, n: int) -> bool:
        await asyncio.sleep(0.05)
        writer.write(answer())
        return True

    async def go() -> tuple[list[Any], int]:
        async with Hostile(behave) as server:
            client = Upstream(max_connections=2)
            model = model_at(server.url)
            got = await asyncio.gather(*(client.complete(model, BODY) for _ in range(8)))
            await client.close()
            return got, server.connections

    got, connections = asyncio.run(go())
    assert all(c.raw == ANSWER for c in got) and connections == 2


def test_a_head_that_never_ends_is_a_broken_answer_not_a_memory_sink():
    async def behave(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(64):  # 4 MiB of one header line, never ended
            writer.write(b"x-filler: " + b"y" * 65536)
            await writer.drain()
        return False

    (error,), server, _ = run(behave, retries=0)
    assert isinstance(error, UpstreamError) and "broke off the connection" in str(error)
