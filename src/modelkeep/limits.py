"""Limits on documents from outside: metadata files, remote records, safetensors headers.

Every parser of outside input applies them before the document can cost much time or memory,
so a small hostile file is refused in milliseconds instead of expanding to gigabytes:

=========================  ==========  ====================================================
limit                      value       applies to
=========================  ==========  ====================================================
``MAX_DOCUMENT_BYTES``     4 MiB       a metadata file (JSON, YAML, protobuf)
``MAX_RECORD_BYTES``       16 MiB      a version record on a remote (holds the metadata)
``MAX_DEPTH``              64          nesting of lists and mappings: metadata (JSON, YAML),
                                       remote records, safetensors headers, ``--param``
``MAX_INT_DIGITS``         100         digits of one integer literal, in the same documents
``MAX_ALIAS_NODES``        100,000     nodes YAML aliases may add when expanded
=========================  ==========  ====================================================

``load_json`` is the careful ``json.loads`` these parsers share: it refuses documents over a
size limit, integers with too many digits (Python's own limit raises a bare ValueError with a
traceback) and nesting deeper than ``MAX_DEPTH`` (deep nesting would otherwise end in a
RecursionError), and can refuse duplicate keys. It raises ``InputLimitError``,
``DuplicateKeyError`` or ``json.JSONDecodeError``, all ValueErrors, which each caller turns
into its own error. YAML applies the same limits while composing (``schema/yamllimits.py``).
Trees and manifests, whose shape is checked strictly after decoding, only turn crafted nesting
into their own "not a tree" error (see ``load_json``).
"""

from __future__ import annotations

import json
from typing import Any

MAX_DOCUMENT_BYTES = 4 << 20
MAX_RECORD_BYTES = 16 << 20
MAX_DEPTH = 64
MAX_INT_DIGITS = 100
MAX_ALIAS_NODES = 100_000


class InputLimitError(ValueError):
    """A document exceeds one of the limits above (the message says which)."""


def check_size(size: int, limit: int = MAX_DOCUMENT_BYTES) -> None:
    """Refuse a document of ``size`` bytes when it is over ``limit``."""
    if size > limit:
        raise InputLimitError(f"is {size} bytes, larger than the limit of {limit} bytes")


def bounded_int(digits: str) -> int:
    """An integer literal as int, refused when it has more than ``MAX_INT_DIGITS`` digits."""
    count = len(digits.lstrip("+-"))
    if count > MAX_INT_DIGITS:
        raise InputLimitError(f"has an integer of {count} digits (more than {MAX_INT_DIGITS} digits)")
    return int(digits)


def too_deep(limit: int = MAX_DEPTH) -> InputLimitError:
    """The error for a document nested deeper than ``limit``."""
    return InputLimitError(f"is nested more than {limit} levels deep")


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """Refuse decoded data whose lists and mappings nest deeper than ``limit``.

    Level by level, without recursion; a document with no deep parts costs one list
    comprehension per container.
    """
    level, depth = [value] if isinstance(value, dict | list) else [], 1
    while level:
        deeper: list[Any] = []
        for item in level:
            values = item.values() if item.__class__ is dict else item
            deeper += [v for v in values if v.__class__ is dict or v.__class__ is list]
        if deeper:
            depth += 1
            if depth > limit:
                raise too_deep(limit)
        level = deeper


class DuplicateKeyError(ValueError):
    """A JSON object has the same key twice (``load_json(..., unique_keys=True)``)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKeyError(f"has the key {key!r} twice in one object")
        result[key] = value
    return result


def load_json(data: bytes | str, *, max_bytes: int | None = MAX_DOCUMENT_BYTES,
              unique_keys: bool = False) -> Any:
    """``json.loads`` with the limits above; InputLimitError, DuplicateKeyError or
    JSONDecodeError (all ValueErrors) otherwise.

    ``max_bytes=None`` leaves the size to the caller; ``unique_keys`` refuses an object that
    has a key twice. Trees and manifests do not use it: their shape is checked strictly after
    ``json.loads`` (which fails cleanly on huge integers and, caught, on crafted nesting), and
    the hook for integer digits would double the decoding time of a tree of 50,000 files.
    """
    if max_bytes is not None:
        check_size(len(data), max_bytes)
    hook = _unique_keys if unique_keys else None
    try:
        decoded = json.loads(data, parse_int=bounded_int, object_pairs_hook=hook)
    except RecursionError:
        raise too_deep() from None
    check_depth(decoded)
    return decoded


def has_surrogate(text: str) -> bool:
    """True when ``text`` holds a lone surrogate (U+D800..U+DFFF), which no UTF-8 can encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
