"""Hosted models: a version that is an upstream chat endpoint instead of weights.

A hosted version's artifact is one small spec file, ``hosted.json``, written by
``modelkeep register NAME --hosted FILE`` from the user's YAML or JSON::

    provider: openai            # a [providers.openai] table in config.toml gives the base URL
    model: gpt-4o-mini          # the upstream's model id
    parameters: {temperature: 0.2, max_tokens: 256, system_prompt: "Answer briefly."}
    price: {currency: USD, input_per_1k: 0.15, output_per_1k: 0.60}   # or per_call: 0.002

The spec names a provider, never a URL or a key: upstream URLs come from the keep's
configuration only, and keys from the environment or a secrets file (docs/hosted.md), so no
version, export or request can point the gateway at another host or carry a secret.
Prices are kept as integer micro-units of the currency (1e-6), so sums over millions of calls
are exact; a price that is not a finite, non-negative number is refused.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from modelkeep.errors import InvalidInputError

SPEC_FILE = "hosted.json"
DEFAULT_MAX_TOKENS = 1024  # what the gateway asks for (and reserves) when the spec says nothing
MICROS = 1_000_000
_PROVIDER = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_KEYS = {"provider", "model", "parameters", "price"}
_PARAMETERS = {"temperature", "max_tokens", "system_prompt"}
_PRICES = {"per_call", "input_per_1k", "output_per_1k"}
HINT = "fix the hosted spec (its format is in docs/hosted.md)"


def _bad(message: str, hint: str = HINT, **fields: Any) -> InvalidInputError:
    return InvalidInputError(message, hint=hint, **fields)


def to_micros(value: Any, what: str, hint: str = HINT) -> int:
    """A money amount (a number, or the text of one) as integer micro-units; anything else,
    NaN, infinity, a negative amount or finer than a micro-unit is refused in one line."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise _bad(f"{what} must be a number, got {value!r}", hint, field=what)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise _bad(f"{what} must be a number, got {value!r}", hint, field=what) from None
    if not amount.is_finite() or amount < 0:
        raise _bad(f"{what} must be a finite amount of at least 0, got {value!r}", hint, field=what)
    micros = amount * MICROS
    if micros != micros.to_integral_value():
        raise _bad(f"{what} {value!r} is finer than a millionth of the currency", hint, field=what)
    if micros > 10**15:
        raise _bad(f"{what} {value!r} is too large", hint, field=what)
    return int(micros)


def money(micros: int) -> str:
    """Micro-units as a decimal amount without trailing zeros past the cents: 1500 -> 0.0015."""
    text = f"{Decimal(micros) / MICROS:.6f}".rstrip("0")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


@dataclass(frozen=True)
class Price:
    """What one call costs: a fixed price per call, and/or prices per 1,000 input and output
    tokens, in micro-units of ``currency`` (ISO 4217)."""

    currency: str
    per_call: int = 0
    input_per_1k: int = 0
    output_per_1k: int = 0

    def cost(self, input_tokens: int, output_tokens: int) -> int:
        """Micro-units for one call that used these tokens (rounded up: never under-counted)."""
        tokens = input_tokens * self.input_per_1k + output_tokens * self.output_per_1k
        return self.per_call + -(-tokens // 1000)

    @property
    def by_tokens(self) -> bool:
        return bool(self.input_per_1k or self.output_per_1k)

    def to_dict(self) -> dict[str, Any]:
        return {"currency": self.currency, "per_call": money(self.per_call),
                "input_per_1k": money(self.input_per_1k), "output_per_1k": money(self.output_per_1k)}


@dataclass(frozen=True)
class HostedSpec:
    """A hosted version: which configured provider, the upstream model id, the parameters sent
    with every call and the price."""

    provider: str
    model: str
    price: Price
    temperature: float | None = None
    max_tokens: int = DEFAULT_MAX_TOKENS
    system_prompt: str | None = None

    def to_dict(self) -> dict[str, Any]:
        params = {k: v for k, v in (("temperature", self.temperature),
                                    ("max_tokens", self.max_tokens),
                                    ("system_prompt", self.system_prompt)) if v is not None}
        return {"provider": self.provider, "model": self.model, "parameters": params,
                "price": self.price.to_dict()}

    def to_json(self) -> bytes:
        """The canonical stored form (sorted keys): the same spec always makes the same file."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=2).encode() + b"\n"


def check_currency(currency: Any, what: str = "the currency", hint: str = HINT) -> str:
    """``currency`` if it is a three-letter ISO 4217 code (upper case), else one clear line."""
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise _bad(f"{what} must be a three-letter ISO 4217 code like USD, got {currency!r}",
                   hint, field=what)
    return currency


def _price(raw: Any) -> Price:
    if not isinstance(raw, dict):
        raise _bad("the hosted spec needs a price: {currency, per_call} or {currency, "
                   "input_per_1k, output_per_1k}")
    unknown = set(raw) - _PRICES - {"currency"}
    if unknown:
        raise _bad(f"unknown price key(s) {', '.join(sorted(map(str, unknown)))}: use "
                   f"currency, {', '.join(sorted(_PRICES))}")
    currency = check_currency(raw.get("currency"), "price.currency")
    if not _PRICES & set(raw):
        raise _bad("the price names no amount: give per_call, or input_per_1k and output_per_1k")
    amounts = {key: to_micros(raw[key], f"price.{key}") for key in _PRICES if key in raw}
    return Price(currency, **amounts)


def _parameters(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or set(raw) - _PARAMETERS:
        raise _bad(f"parameters must be a mapping of {', '.join(sorted(_PARAMETERS))}")
    out: dict[str, Any] = {}
    temperature = raw.get("temperature")
    if temperature is not None:
        if isinstance(temperature, bool) or not isinstance(temperature, int | float) \
                or not math.isfinite(temperature) or not 0 <= temperature <= 2:
            raise _bad(f"parameters.temperature must be a number from 0 to 2, got {temperature!r}")
        out["temperature"] = float(temperature)
    tokens = raw.get("max_tokens")
    if tokens is not None:
        if isinstance(tokens, bool) or not isinstance(tokens, int) or not 1 <= tokens <= 1_000_000:
            raise _bad(f"parameters.max_tokens must be a whole number from 1 to 1000000, got {tokens!r}")
        out["max_tokens"] = tokens
    prompt = raw.get("system_prompt")
    if prompt is not None:
        if not isinstance(prompt, str) or len(prompt) > 100_000:
            raise _bad("parameters.system_prompt must be text of at most 100000 characters")
        out["system_prompt"] = prompt
    return out


def parse_spec(data: Any) -> HostedSpec:
    """A checked ``HostedSpec`` from a decoded spec document (see the module docstring)."""
    if not isinstance(data, dict):
        raise _bad("a hosted spec must be a mapping with provider, model and price")
    unknown = set(data) - _KEYS
    if unknown:
        extra = ("; upstream URLs and keys come from [providers.NAME] in config.toml, never "
                 "from a version") if unknown & {"base_url", "url", "api_key", "api_base"} else ""
        raise _bad(f"unknown key(s) in the hosted spec: {', '.join(sorted(map(str, unknown)))}{extra}")
    provider, model = data.get("provider"), data.get("model")
    if not isinstance(provider, str) or not _PROVIDER.fullmatch(provider):
        raise _bad(f"provider must be the name of a [providers.NAME] table, got {provider!r}")
    if not isinstance(model, str) or not _MODEL_ID.fullmatch(model):
        raise _bad(f"model must be the upstream's model id, got {model!r}")
    return HostedSpec(provider, model, _price(data.get("price")), **_parameters(data.get("parameters")))


def read_spec_file(path: Path) -> HostedSpec:
    """The hosted spec in ``path`` (YAML or JSON), checked; a bad one is one clear line."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"cannot read hosted spec {path}: {exc.strerror or exc}",
                                hint="give the path of a hosted spec file", path=str(path)) from None
    if len(raw) > 1_000_000:
        raise _bad(f"hosted spec {path} is over 1 MB")
    try:
        data = YAML(typ="safe", pure=True).load(raw.decode("utf-8-sig"))
    except (YAMLError, UnicodeDecodeError, RecursionError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        raise _bad(f"hosted spec {path} is not valid YAML or JSON: {message}"[:300]) from None
    return parse_spec(data)


def spec_from_stored(raw: bytes) -> HostedSpec:
    """A spec read back from a version's ``hosted.json`` (prices stored as decimal text)."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad(f"the version's {SPEC_FILE} is not JSON: {exc}") from None
    return parse_spec(data)


def spec_dict(spec: HostedSpec) -> dict[str, Any]:
    """The spec's fields as plain values (for tests and ``show``)."""
    return asdict(spec)
