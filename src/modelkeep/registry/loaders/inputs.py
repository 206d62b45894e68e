"""Inputs for ``predict``: JSON read from a file or stdin, checked against the version's signature.

A signature names each input with a dtype and a shape (-1 for a dynamic dimension, null for an
unknown rank). Inputs are a JSON object keyed by input name, or, for a model with one input,
that input alone (a nested list, a number, a string). Every mismatch is one line naming the
input: a missing or unknown name, a ragged list, a wrong rank or dimension, a string where a
number belongs. Nothing reaches the model unchecked when a signature is known.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from modelkeep.errors import InvalidModelInputError, SignatureMismatchError
from modelkeep.limits import load_json

NUMERIC_PREFIXES = ("float", "double", "int", "uint", "half", "bfloat")
STRING_DTYPES = ("string", "str", "object", "bytes")
MAX_INPUT_BYTES = 64 * 1024 * 1024


def parse_input_text(text: str | bytes, source: str) -> Any:
    """The JSON document in ``text``; malformed JSON is ``InvalidModelInputError`` naming ``source``."""
    try:
        return load_json(text, max_bytes=MAX_INPUT_BYTES)
    except ValueError as exc:
        raise InvalidModelInputError(f"{source} is not valid JSON: {exc}",
                                     hint="predict reads one JSON document (see docs/running.md)",
                                     source=source) from None


def check_inputs(inputs: Any, signature: Mapping[str, Any]) -> Any:
    """``inputs`` unchanged when they fit the signature's inputs, else SignatureMismatchError
    (422 at the gateway), whose message ends with the signature."""
    specs = list(signature.get("inputs") or [])
    if not specs:
        return inputs
    try:
        return _fit(inputs, specs)
    except _Mismatch as exc:
        raise SignatureMismatchError(f"{exc}; the signature is ({signature_text(specs)})",
                                     signature=signature_text(specs)) from None


def signature_text(specs: Sequence[Mapping[str, Any]]) -> str:
    """``x: float32[-1, 3], mask: bool[-1]``: the inputs of a signature on one line."""
    def shape(spec: Mapping[str, Any]) -> str:
        dims = spec.get("shape")
        return "[?]" if dims is None else "[" + ", ".join(str(d) for d in dims) + "]"
    return ", ".join(f"{s['name']}: {s.get('dtype') or 'any'}{shape(s)}" for s in specs)


class _Mismatch(ValueError):
    """One way the inputs miss the signature (turned into SignatureMismatchError above)."""


def _fit(inputs: Any, specs: list[Mapping[str, Any]]) -> Any:
    names = [s["name"] for s in specs]
    if len(specs) == 1 and not isinstance(inputs, Mapping):
        _check_value(inputs, specs[0])
        return inputs
    if not isinstance(inputs, Mapping):
        raise _bad(f"the model takes {len(specs)} inputs ({', '.join(names)}): give a JSON "
                   f"object keyed by input name, not a {_json_type(inputs)}")
    missing = [n for n in names if n not in inputs]
    unknown = sorted(set(inputs) - set(names))
    if missing:
        raise _bad(f"input '{missing[0]}' is missing")
    if unknown:
        raise _bad(f"unknown input '{unknown[0]}'")
    for spec in specs:
        _check_value(inputs[spec["name"]], spec)
    return inputs


def _check_value(value: Any, spec: Mapping[str, Any]) -> None:
    name = spec["name"]
    shape, leaves = _shape(value, name)
    wanted = spec.get("shape")
    if wanted is not None and (len(wanted) != len(shape) or any(
            w not in (-1, s) for w, s in zip(wanted, shape, strict=True))):
        raise _bad(f"input '{name}' has shape {shape}, the signature wants {list(wanted)} "
                   "(-1: any size)")
    dtype = str(spec.get("dtype") or "")
    if dtype.startswith(NUMERIC_PREFIXES):
        wrong = [v for v in leaves if isinstance(v, bool) or not isinstance(v, int | float)]
        if not wrong and dtype.startswith(("int", "uint")):
            wrong = [v for v in leaves if isinstance(v, float) and not v.is_integer()]
        if wrong:
            raise _bad(f"input '{name}' wants {dtype} values, got {_json_type(wrong[0])} "
                       f"{json.dumps(wrong[0])}")
    elif dtype == "bool" and not all(isinstance(v, bool) for v in leaves):
        raise _bad(f"input '{name}' wants true/false values")
    elif dtype in STRING_DTYPES and not all(isinstance(v, str) for v in leaves):
        raise _bad(f"input '{name}' wants strings")


def _shape(value: Any, name: str) -> tuple[list[int], list[Any]]:
    """The shape of a nested list and its leaves; a ragged or mixed list is an error."""
    if not isinstance(value, list):
        if isinstance(value, Mapping):
            raise _bad(f"input '{name}' is a JSON object; it must be a number, a string or a "
                       "nested list")
        return [], [value]
    if not value:
        return [0], []
    parts = [_shape(item, name) for item in value]
    first = parts[0][0]
    if any(p[0] != first for p in parts):
        raise _bad(f"input '{name}' is ragged: its rows differ in length or depth")
    return [len(value), *first], [leaf for p in parts for leaf in p[1]]


def _json_type(value: Any) -> str:
    kinds: Sequence[tuple[type | tuple[type, ...], str]] = (
        (bool, "boolean"), ((int, float), "number"), (str, "string"), (list, "list"),
        (Mapping, "object"))
    return next((label for cls, label in kinds if isinstance(value, cls)), "null")


def _bad(message: str) -> _Mismatch:
    return _Mismatch(message)
