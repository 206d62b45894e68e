"""JSON encoding of ``ModelMetadata``: canonical, strict RFC 8259 output, careful input.

Output is canonical: keys sorted, two-space indent, UTF-8, a final newline, so equal models give
identical bytes. NaN and infinities are written as the strings ``"NaN"``, ``"Infinity"`` and
``"-Infinity"`` (never as bare literals, which are not JSON); on input those strings, and the
bare literals some tools still write, are both accepted for metric fields. Duplicate keys are
an error rather than last-one-wins.
"""

from __future__ import annotations

import json
from typing import Any

from modelkeep.errors import InvalidMetadataError
from modelkeep.schema.metadata import ModelMetadata
from modelkeep.schema.validation import metadata_from_data


def metadata_to_data(meta: ModelMetadata) -> dict[str, Any]:
    """The model as JSON-ready data: timestamps as ISO 8601 strings, NaN/inf as strings."""
    return meta.model_dump(mode="json")


def dump_json(meta: ModelMetadata) -> bytes:
    """Canonical JSON bytes of the model (sorted keys, deterministic)."""
    text = json.dumps(
        metadata_to_data(meta), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False
    )
    return (text + "\n").encode("utf-8")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidMetadataError(f"metadata JSON has the key {key!r} twice in one object")
        result[key] = value
    return result


def parse_json(data: bytes) -> ModelMetadata:
    """Decode JSON bytes; malformed JSON or invalid fields raise InvalidMetadataError."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidMetadataError(f"metadata JSON is not UTF-8: {exc.reason}") from None
    try:
        decoded = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise InvalidMetadataError(
            f"metadata is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise InvalidMetadataError("metadata JSON is nested too deeply") from None
    return metadata_from_data(decoded, source="JSON metadata")
