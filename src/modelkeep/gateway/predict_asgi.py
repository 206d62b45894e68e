"""The predict endpoint's plain-ASGI plumbing: reading the body, the request id, sending a
JSON answer, and the middleware that sends ``POST /v1/models/NAME/predict`` straight to the
gateway, past Starlette's router, ``Request`` and ``Response`` (docs/gateway.md, "What a
request costs"). What the endpoint does is ``Gateway.serve_predict`` (``app.py``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Awaitable
from typing import Any, Protocol

from starlette.types import ASGIApp, Receive, Scope, Send

from modelkeep.errors import InvalidModelInputError, ModelkeepError

MAX_BODY = 16 * 1024 * 1024  # a request body larger than this is refused before parsing
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_PREFIX, _SUFFIX = "/v1/models/", "/predict"


class Predicts(Protocol):
    """What serves a predict request (the gateway)."""

    def serve_predict(self, scope: Scope, receive: Receive, send: Send,
                      name: str) -> Awaitable[None]: ...


async def read_body(receive: Receive) -> bytes | None:
    """The request body, refused past ``MAX_BODY`` while it arrives; None when the client went
    away before sending all of it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise InvalidModelInputError(f"the request body is over the {MAX_BODY} bytes "
                                         "allowed", hint="send smaller batches")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def parse_inputs(body: bytes) -> Any:
    """The ``inputs`` of a predict body (``InvalidModelInputError`` for anything else)."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidModelInputError(f"the request body is not valid JSON: {exc}",
                                     hint='send {"inputs": ...} as JSON') from None
    if not isinstance(payload, dict) or "inputs" not in payload:
        raise InvalidModelInputError('the request body must be a JSON object with "inputs"',
                                     hint='send {"inputs": ...} as JSON')
    return payload["inputs"]


def given_request_id(scope: Scope) -> str:
    """The client's own ``X-Request-Id`` when it is a valid one, else a fresh 32-hex id."""
    for key, value in scope["headers"]:
        if key == b"x-request-id":
            given = value.decode("latin-1")
            if REQUEST_ID.fullmatch(given):
                return given
            break
    return os.urandom(16).hex()  # 32 hex digits like uuid4().hex, without building a UUID


async def send_json(send: Send, status: int, body: bytes,
                    headers: list[tuple[bytes, bytes]]) -> None:
    """Answer with the JSON ``body`` and ``headers`` (lower-case names), as two messages."""
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-length", str(len(body)).encode()), (b"content-type", b"application/json"),
        *headers]})
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, exc: ModelkeepError, request_id: str) -> None:
    """Answer with the error's one JSON shape and its HTTP status."""
    body = json.dumps(exc.to_dict(), ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).encode()  # as JSONResponse renders it
    await send_json(send, exc.http_status, body, [(b"x-request-id", request_id.encode())])


class PredictFirst:
    """ASGI middleware sending ``POST /v1/models/NAME/predict`` straight to the gateway, past
    Starlette's router and exception middleware; every other request goes on to the app."""

    def __init__(self, app: ASGIApp, gateway: Predicts) -> None:
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path: str = scope["path"]
            if path.startswith(_PREFIX) and path.endswith(_SUFFIX):
                name = path[len(_PREFIX):-len(_SUFFIX)]
                if name and "/" not in name:  # what the route's {name} matches
                    await self.gateway.serve_predict(scope, receive, send, name)
                    return
        await self.app(scope, receive, send)


class PredictRoute:
    """The predict route for the requests ``PredictFirst`` leaves to the router (a method
    other than POST is refused there, 405)."""

    def __init__(self, gateway: Predicts) -> None:
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.gateway.serve_predict(scope, receive, send, scope["path_params"]["name"])
