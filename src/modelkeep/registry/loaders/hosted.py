"""The ``hosted`` loader: a version that answers through an upstream chat completions API.

The version's artifact is its spec (``registry/hosted.py``); the upstream's base URL and the
place its API key is kept come from ``[providers.NAME]`` in the keep's config.toml, given to
the loader by the keep. The key is read from the environment or the secrets file when a call
is made, and only put in the ``Authorization`` header: never in a message, a log or the keep.

``predict`` (the ``predict`` command, validation, a gateway's shadow copy) is one blocking
call without retries; a gateway calls hosted versions through its own pooled async client
with retries (``gateway/upstream.py``), built from the same ``request_body``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelkeep.errors import InvalidModelInputError, ProviderNotConfiguredError, UpstreamError
from modelkeep.registry.hosted import SPEC_FILE, HostedSpec, spec_from_stored
from modelkeep.storage.objects import ObjectStore

# what a caller's chat request may set; everything else (a URL, a key, the model) is dropped
PASSED_THROUGH = ("messages", "temperature", "max_tokens", "top_p", "stop", "stream")


@dataclass(frozen=True)
class Provider:
    """A configured upstream: its base URL, where its key is, timeout (s) and retries."""

    name: str
    base_url: str
    api_key_env: str | None = None
    api_key_file: str | None = None
    timeout: float = 30.0
    retries: int = 2

    @property
    def chat_url(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"

    def api_key(self) -> str:
        """The key, read now (so a rotated key needs no restart); ``ProviderNotConfiguredError``
        naming where it was looked for (never what was found) when it is not there."""
        if self.api_key_env:
            key = os.environ.get(self.api_key_env, "")
            where = f"environment variable {self.api_key_env}"
        elif self.api_key_file:
            where = f"file {self.api_key_file}"
            try:
                key = Path(self.api_key_file).expanduser().read_text().strip()
            except OSError:
                key = ""
        else:
            return ""  # an upstream that needs no key (a local server)
        if not key:
            raise ProviderNotConfiguredError(
                f"provider '{self.name}': no API key in {where}", provider=self.name)
        return key

    def headers(self) -> dict[str, str]:
        key = self.api_key()
        return {"Authorization": f"Bearer {key}"} if key else {}


def provider_of(name: str, providers: Mapping[str, Mapping[str, Any]]) -> Provider:
    """The ``[providers.NAME]`` table as a ``Provider`` (checked when the config was read)."""
    section = providers.get(name)
    if section is None:
        raise ProviderNotConfiguredError(
            f"provider '{name}' is not configured in this keep's config.toml"
            + (f" (it has: {', '.join(sorted(providers))})" if providers else ""), provider=name)
    return Provider(name, str(section["base_url"]), section.get("api_key_env"),
                    section.get("api_key_file"), float(section.get("timeout", 30.0)),
                    int(section.get("retries", 2)))


def messages_of(inputs: Any) -> list[dict[str, Any]]:
    """Chat messages from predict inputs: a string, ``{"prompt": str}`` or ``{"messages": [...]}``."""
    if isinstance(inputs, str):
        return [{"role": "user", "content": inputs}]
    if isinstance(inputs, Mapping) and isinstance(inputs.get("prompt"), str):
        return [{"role": "user", "content": inputs["prompt"]}]
    if isinstance(inputs, Mapping) and "messages" in inputs:
        return check_messages(inputs["messages"])
    raise InvalidModelInputError('a hosted model takes a string, {"prompt": TEXT} or '
                                 '{"messages": [{"role": ..., "content": ...}]}')


def check_messages(messages: Any) -> list[dict[str, Any]]:
    """``messages`` if it is a non-empty list of ``{"role": str, "content": str}``."""
    if not isinstance(messages, list) or not messages or not all(
            isinstance(m, Mapping) and isinstance(m.get("role"), str)
            and isinstance(m.get("content"), str) for m in messages):
        raise InvalidModelInputError(
            'messages must be a non-empty list of {"role": TEXT, "content": TEXT}')
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def request_body(spec: HostedSpec, chat: Mapping[str, Any]) -> dict[str, Any]:
    """The upstream request for a caller's chat request: only ``PASSED_THROUGH`` fields, the
    version's model id, its system prompt first, its temperature, and max_tokens capped by the
    version's (so a call never costs more than its reservation assumed)."""
    body = {k: chat[k] for k in PASSED_THROUGH if k in chat}
    messages = check_messages(body.get("messages"))
    if spec.system_prompt is not None:
        messages = [{"role": "system", "content": spec.system_prompt}, *messages]
    body["messages"] = messages
    body["model"] = spec.model
    if spec.temperature is not None:
        body["temperature"] = spec.temperature
    asked = body.get("max_tokens")
    if isinstance(asked, int) and not isinstance(asked, bool) and asked > 0:
        body["max_tokens"] = min(asked, spec.max_tokens)
    else:
        body["max_tokens"] = spec.max_tokens
    if body.get("stream"):
        body["stream_options"] = {"include_usage": True}
    return body


def input_token_bound(body: Mapping[str, Any]) -> int:
    """An upper bound of the prompt's tokens: a token is at least one byte of text, plus a few
    per message for the role markers."""
    return sum(len(m["content"].encode()) + 8 for m in body["messages"]) + 8


def worst_case(spec: HostedSpec, body: Mapping[str, Any]) -> int:
    """The most one call with ``body`` can cost, in micro-units (what a budget reserves)."""
    return spec.price.cost(input_token_bound(body), int(body["max_tokens"]))


def usage_of(answer: Mapping[str, Any]) -> tuple[int, int] | None:
    """(prompt_tokens, completion_tokens) from an upstream answer's ``usage``, if it has them."""
    usage = answer.get("usage")
    if isinstance(usage, Mapping):
        inp, out = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (inp, out)):
            return int(inp), int(out)  # type: ignore[arg-type]
    return None


def text_of(answer: Mapping[str, Any]) -> str:
    """The first choice's message content."""
    try:
        return str(answer["choices"][0]["message"]["content"])
    except (KeyError, IndexError, TypeError):
        raise UpstreamError("the upstream's answer has no choices[0].message.content") from None


class HostedModel:
    """A hosted version: ``spec`` and ``provider``; ``predict`` makes one upstream call."""

    kind = "hosted"

    def __init__(self, ref: str, spec: HostedSpec, provider: Provider) -> None:
        self.ref = ref
        self.spec = spec
        self.provider = provider

    def predict(self, inputs: Any) -> Any:
        """``{"text", "usage"}`` for a prompt or messages (one call, no retries)."""
        import httpx

        if isinstance(inputs, bytes | bytearray):
            try:
                inputs = json.loads(inputs)
            except ValueError as exc:
                raise InvalidModelInputError(f"the input is not valid JSON: {exc}") from None
        body = request_body(self.spec, {"messages": messages_of(inputs)})
        try:
            response = httpx.post(self.provider.chat_url, json=body, headers=self.provider.headers(),
                                  timeout=self.provider.timeout)
        except httpx.HTTPError as exc:
            raise UpstreamError(f"{self.ref}: the upstream could not be reached "
                                f"({type(exc).__name__})", ref=self.ref) from None
        if response.status_code != 200:
            raise UpstreamError(f"{self.ref}: the upstream answered {response.status_code}",
                                ref=self.ref, status=response.status_code)
        try:
            answer = response.json()
        except ValueError:
            raise UpstreamError(f"{self.ref}: the upstream's answer is not JSON", ref=self.ref) from None
        inp, out = usage_of(answer) or (0, 0)
        return {"text": text_of(answer),
                "usage": {"prompt_tokens": inp, "completion_tokens": out}}

    def prediction(self, inputs: Any) -> Any:
        from modelkeep.registry.loaders.base import Prediction

        return Prediction(self.ref, self.kind, self.predict(inputs))

    def close(self) -> None:
        """Nothing to release: the spec is read into memory."""

    def __enter__(self) -> HostedModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_hosted(store: ObjectStore, ref: str, tree_id: str,
                providers: Mapping[str, Mapping[str, Any]]) -> HostedModel:
    """The hosted version whose artifacts tree is ``tree_id``, with its configured provider."""
    from modelkeep.storage.tree import read_tree

    entry = next((e for e in read_tree(store, tree_id) if e.path == SPEC_FILE), None)
    if entry is None or entry.kind != "blob":
        raise ProviderNotConfiguredError(f"{ref} is a hosted version without its {SPEC_FILE}",
                                         ref=ref)
    spec = spec_from_stored(store.get_bytes(entry.oid))  # verified against its id
    return HostedModel(ref, spec, provider_of(spec.provider, providers))
