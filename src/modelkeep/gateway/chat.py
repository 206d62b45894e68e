"""``POST /v1/chat/completions``: the OpenAI-compatible endpoint, routed like predict.

``model`` names a deployed model (or ``NAME@VERSION`` the gateway holds); the request is routed
by the same rollout (canary, A/B, shadow) as ``/v1/models/NAME/predict``, so a hosted version
can be compared with another provider's or with a local model. A hosted version answers with
its upstream's completion, passed through (``stream: true``: the upstream's SSE chunks as
they come); a local model gets ``{"prompt": the last message's content}`` as its inputs and its outputs
(text, or an object's ``text``, else the JSON) come back as one completion. Only the caller's messages
and a few sampling fields reach an upstream, never a URL, a header or a key from the request.
Answers carry ``X-Request-Id``, ``X-Modelkeep-Version``, ``X-Modelkeep-Arm``,
``X-Modelkeep-Cost`` (hosted, non-streaming) and ``X-Modelkeep-Overhead-Ms``.

An A/B test counts chat answers for their arm like predict answers (a streamed hosted answer
is timed to its first chunk, and counted failed only when it could not start), and the answer
is remembered for ``POST /v1/feedback`` by its request id: a label is judged against the
answer's text.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from modelkeep.errors import BudgetExhaustedError, InvalidModelInputError
from modelkeep.registry.hosted import money
from modelkeep.registry.loaders.hosted import HostedModel, check_messages

from .ab_meter import ArmMeter, Trial, counted
from .calls import Answer
from .feedback import canonical_json
from .hosted_calls import HostedCaller
from .payload_log import PayloadLog
from .pool import VersionPool
from .routing import Route

MAX_CHAT_BODY = 16 * 1024 * 1024


class Routing(Protocol):
    """What the chat endpoint needs of the gateway."""

    pool: VersionPool
    hosted: HostedCaller
    payloads: PayloadLog | None  # None: payload logging off (the default)
    arms: ArmMeter

    def choose(self, name: str, request: Request, request_id: str) -> Route: ...

    def usable(self, ref: str) -> bool: ...

    def hosted_shadow(self, ref: str, inputs: Any) -> bool: ...

    def shadow_copy(self, model_name: str, chosen: Route, request_id: str, inputs: Any,
                    answer: Answer) -> None: ...

    def trial_of(self, model_name: str, chosen: Route, request: Request,
                 request_id: str) -> Trial | None: ...

    def remember_answer(self, request_id: str, model_name: str, version: str,
                        outputs_json: str | None, trial: Trial | None) -> None: ...

    async def answer(self, ref: str, inputs: Any, arm: str = "",
                     trial: Trial | None = None) -> Answer: ...


async def read_chat(request: Request) -> dict[str, Any]:
    """The caller's chat request: a JSON object with ``model`` and ``messages``."""
    body = await request.body()
    if len(body) > MAX_CHAT_BODY:
        raise InvalidModelInputError(f"the request body is {len(body)} bytes, over the "
                                     f"{MAX_CHAT_BODY} allowed")
    try:
        chat = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidModelInputError(f"the request body is not valid JSON: {exc}",
                                     hint='send {"model": NAME, "messages": [...]}') from None
    if not isinstance(chat, dict) or not isinstance(chat.get("model"), str) or not chat["model"]:
        raise InvalidModelInputError('the request body must be a JSON object with "model" '
                                     '(a deployed model) and "messages"',
                                     hint='send {"model": NAME, "messages": [...]}')
    check_messages(chat.get("messages"))
    return chat


def _content(outputs: Any) -> str:
    if isinstance(outputs, str):
        return outputs
    if isinstance(outputs, dict) and isinstance(outputs.get("text"), str):
        return outputs["text"]
    return json.dumps(outputs, separators=(",", ":"))


def _local_completion(ref: str, request_id: str, outputs: Any) -> dict[str, Any]:
    return {"id": f"chatcmpl-{request_id}", "object": "chat.completion",
            "created": int(time.time()), "model": ref,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": _content(outputs)}}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}


async def _local_stream(completion: dict[str, Any]) -> AsyncIterator[bytes]:
    message = completion["choices"][0]["message"]
    chunk = {**completion, "object": "chat.completion.chunk",
             "choices": [{"index": 0, "delta": message, "finish_reason": "stop"}]}
    yield f"data: {json.dumps(chunk)}\n\n".encode()
    yield b"data: [DONE]\n\n"


def _inputs_for(model: Any, chat: dict[str, Any]) -> Any:
    """What a version's predict takes for this chat: the messages (hosted) or the prompt."""
    if isinstance(model, HostedModel):
        return {"messages": chat["messages"]}
    return {"prompt": chat["messages"][-1]["content"]}


def _hosted_shadow(gateway: Routing, ref: str, chat: dict[str, Any]) -> bool:
    """Send a hosted candidate its copy of the chat request; False for a local candidate,
    whose copy goes out once a local stable version has answered (``shadow_copy``: the shadow
    runner compares the two local answers; a hosted stable version's answer, a completion,
    is not compared with a local model's outputs, so that pair gets no copies)."""
    return gateway.usable(ref) and gateway.hosted_shadow(ref, _inputs_for(gateway.pool.get(ref),
                                                                          chat))


def _remember(gateway: Routing, ref: str, request_id: str, trial: Trial | None,
              completion: dict[str, Any] | None) -> None:
    """Remember the answer for its feedback: the version, the arm, and the answer's text
    (``completion`` None: a stream, whose text the gateway does not hold, so labels for it are
    not judged)."""
    model, _, version = ref.partition("@")
    text = None
    if completion is not None:
        with contextlib.suppress(KeyError, IndexError, TypeError, ValueError):  # not as expected
            text = canonical_json(completion["choices"][0]["message"]["content"])
    gateway.remember_answer(request_id, model, version, text, trial)


def _log(gateway: Routing, ref: str, request_id: str, chat: dict[str, Any], answer: Any) -> None:
    """Queue a non-streamed chat's messages and answer when payload logging is on."""
    if gateway.payloads is not None:
        model, _, version = ref.partition("@")
        gateway.payloads.add(model, version, request_id, {"messages": chat["messages"]}, answer)


async def chat_completions(gateway: Routing, request: Request, request_id: str,
                           started: float) -> Response:
    """Answer one chat request (errors are raised; the caller renders them)."""
    chat = await read_chat(request)
    name = chat["model"]
    model_name = name.partition("@")[0]
    for attempt in range(2):  # a second time only when the chosen version's budget ran out
        chosen = gateway.choose(name, request, request_id)
        local_shadow = bool(chosen.shadow) and not attempt and \
            not _hosted_shadow(gateway, f"{model_name}@{chosen.shadow}", chat)
        ref = f"{model_name}@{chosen.version}"
        headers = {"X-Request-Id": request_id, "X-Modelkeep-Version": chosen.version,
                   "X-Modelkeep-Arm": chosen.arm}
        model = gateway.pool.get(ref)
        trial = gateway.trial_of(model_name, chosen, request, request_id)
        try:
            if not isinstance(model, HostedModel):
                inputs = _inputs_for(model, chat)
                answer = await gateway.answer(ref, inputs, chosen.arm, trial)
                if local_shadow:
                    gateway.shadow_copy(model_name, chosen, request_id, inputs, answer)
                completion = _local_completion(ref, request_id, answer.outputs)
                _remember(gateway, ref, request_id, trial, completion)
                if chat.get("stream"):
                    return StreamingResponse(_local_stream(completion),
                                             media_type="text/event-stream", headers=headers)
                _log(gateway, ref, request_id, chat, completion)
                overhead = (time.perf_counter() - started - answer.model_seconds) * 1000
                return JSONResponse(completion, headers={
                    **headers, "X-Modelkeep-Overhead-Ms": f"{overhead:.3f}"})
            with counted(gateway.arms, trial):
                if chat.get("stream"):
                    chunks = await gateway.hosted.open_stream(model, chat, chosen.arm)
                    _remember(gateway, ref, request_id, trial, None)
                    return StreamingResponse(chunks, media_type="text/event-stream",
                                             headers=headers)
                charged = await gateway.hosted.complete(model, chat, chosen.arm)
            _remember(gateway, ref, request_id, trial, charged.completion.answer)
        except BudgetExhaustedError:
            if attempt or chosen.arm == "pinned" or \
                    gateway.choose(name, request, request_id).version == chosen.version:
                raise
            continue  # the budget is marked spent: routing now picks another version
        _log(gateway, ref, request_id, chat, charged.completion.answer)
        overhead = (time.perf_counter() - started - charged.completion.upstream_seconds) * 1000
        return Response(charged.completion.raw, media_type="application/json", headers={
            **headers, "X-Modelkeep-Overhead-Ms": f"{overhead:.3f}",
            "X-Modelkeep-Cost": f"{money(charged.micros)} {model.spec.price.currency}"})
    raise AssertionError("unreachable: the second choice differs from the first")
