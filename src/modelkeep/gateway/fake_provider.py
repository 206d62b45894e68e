"""A fake OpenAI-compatible provider on loopback, for tests, the benchmark and ``modelkeep demo``.

``POST /v1/chat/completions`` answers ``"echo: " + the last message`` with ``usage`` fields
(prompt tokens = words of every message, completion tokens = ``completion_tokens``, at most
``max_tokens``), or streams it as SSE chunks (one per word, then a usage chunk when asked
with ``stream_options.include_usage``, then ``[DONE]``). With ``--key`` it wants
``Authorization: Bearer KEY`` (else 401).

``POST /_control`` sets what the next calls do, in order: ``{"script": ["429", "500", "503",
"timeout", "malformed", "cut", "slow", "ok", ...], "hang": SECONDS, "delay": SECONDS,
"completion_tokens": N, "cap": BOOL}`` (``cap`` false: report completion_tokens past max_tokens)
(after the script every call is ``ok``, answered after ``delay``; ``cut`` breaks a stream off
after two chunks, ``slow`` streams a chunk every half second); ``GET /_requests`` lists
every call received (path, the Host and Authorization headers, the JSON body);
``DELETE /_requests`` forgets them.

Run it: ``python -m modelkeep.gateway.fake_provider --port 8099 [--key sk-test]``; or
``FakeProvider()``, which starts it as a child process on a free port (tests/fake_provider.py
re-exports it for the tests). It needs the ``gateway`` extra (starlette, uvicorn, httpx).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
from collections import deque
from typing import Any

STATE: dict[str, Any] = {"script": deque(), "hang": 5.0, "completion_tokens": 5, "key": "",
                         "delay": 0.0, "cap": True, "requests": []}


def _usage(body: dict[str, Any]) -> dict[str, int]:
    prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    completion = STATE["completion_tokens"]
    if STATE["cap"]:  # an honest upstream never reports more than max_tokens
        completion = min(completion, int(body.get("max_tokens") or 10**9))
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def _completion(body: dict[str, Any], text: str) -> dict[str, Any]:
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", ""), "usage": _usage(body),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}]}


def build_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    async def chat(request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            return JSONResponse({"error": {"message": "bad json"}}, status_code=400)
        STATE["requests"].append({"path": request.url.path, "host": request.headers.get("host"),
                                  "authorization": request.headers.get("authorization"),
                                  "body": body})
        if STATE["key"] and request.headers.get("authorization") != f"Bearer {STATE['key']}":
            return JSONResponse({"error": {"message": "invalid api key"}}, status_code=401)
        step = STATE["script"].popleft() if STATE["script"] else "ok"
        if step.isdigit():
            return JSONResponse({"error": {"message": f"fake {step}"}}, status_code=int(step))
        if step == "timeout":
            await asyncio.sleep(STATE["hang"])
        elif STATE["delay"]:
            await asyncio.sleep(STATE["delay"])
        last = str(body.get("messages", [{}])[-1].get("content", ""))
        text = f"echo: {last}"
        if not body.get("stream"):
            if step == "malformed":
                return Response(b'{"choices": [', media_type="application/json")
            return JSONResponse(_completion(body, text))
        return StreamingResponse(_chunks(body, text, step), media_type="text/event-stream")

    async def control(request: Request) -> Response:
        asked = await request.json()
        STATE["script"] = deque(str(s) for s in asked.get("script", []))
        for key in ("hang", "completion_tokens", "delay", "cap"):
            if key in asked:
                STATE[key] = asked[key]
        return JSONResponse({"ok": True})

    async def requests(request: Request) -> Response:
        if request.method == "DELETE":
            STATE["requests"].clear()
        return JSONResponse(STATE["requests"])

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]),
                             Route("/_control", control, methods=["POST"]),
                             Route("/_requests", requests, methods=["GET", "DELETE"])])


async def _chunks(body: dict[str, Any], text: str, step: str) -> Any:
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": body.get("model", "")}
    if step == "malformed":
        yield b'data: {"choices": [\n\n'
        return
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
    for n, word in enumerate(text.split(" ")):
        piece = word if n == 0 else " " + word
        chunks.append({**base, "choices": [{"index": 0, "delta": {"content": piece}}]})
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if (body.get("stream_options") or {}).get("include_usage"):
        chunks.append({**base, "choices": [], "usage": _usage(body)})
    for n, chunk in enumerate(chunks):
        if step == "cut" and n == 2:
            raise ConnectionAbortedError("the fake provider cuts the stream")
        if step == "slow" and n:
            await asyncio.sleep(0.5)
        yield f"data: {json.dumps(chunk)}\n\n".encode()
    yield b"data: [DONE]\n\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeProvider:
    """The fake provider as a child process on a free loopback port (``url`` ends in /v1)."""

    def __init__(self, key: str = "") -> None:
        import httpx

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.base}/v1"
        self.proc = subprocess.Popen([sys.executable, "-m", "modelkeep.gateway.fake_provider",
                                      "--port", str(self.port), "--key", key],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.client = httpx.Client(base_url=self.base, timeout=10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self.client.get("/_requests")
                return
            except httpx.TransportError:
                if self.proc.poll() is not None:
                    err = self.proc.stderr.read() if self.proc.stderr else ""
                    self.client.close()
                    raise RuntimeError(f"fake provider exited: {err[-500:]}") from None
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("fake provider did not start within 20 s")

    def script(self, *steps: str, hang: float | None = None, delay: float | None = None,
               completion_tokens: int | None = None, cap: bool | None = None) -> None:
        """What the next calls do (``"429"``, ``"500"``, ``"timeout"``, ``"malformed"``, ``"ok"``);
        ``delay``: seconds every ``ok`` call waits before answering."""
        body: dict[str, Any] = {"script": list(steps)}
        if delay is not None:
            body["delay"] = delay
        if cap is not None:  # False: report completion_tokens even past max_tokens (a liar)
            body["cap"] = cap
        if hang is not None:
            body["hang"] = hang
        if completion_tokens is not None:
            body["completion_tokens"] = completion_tokens
        self.client.post("/_control", json=body).raise_for_status()

    def received(self) -> list[dict[str, Any]]:
        return list(self.client.get("/_requests").json())

    def forget(self) -> None:
        self.client.delete("/_requests")

    def stop(self) -> None:
        self.client.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stderr is not None:
            self.proc.stderr.close()


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="a fake OpenAI-compatible provider")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--key", default="")
    args = parser.parse_args()
    STATE["key"] = args.key
    uvicorn.run(build_app(), host="127.0.0.1", port=args.port, log_level="warning",
                access_log=False)


if __name__ == "__main__":
    main()
