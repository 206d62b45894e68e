"""JSON encoding of ``ModelMetadata``: canonical, strict RFC 8259 output, careful input.

Output is canonical: keys sorted, two-space indent, UTF-8, a final newline, so equal models give
identical bytes. NaN and infinities are written as the strings ``"NaN"``, ``"Infinity"`` and
``"-Infinity"`` (never as bare literals, which are not JSON); on input those strings, and the
bare literals some tools still write, are both accepted for metric fields. Duplicate keys are
an error rather than last-one-wins; size, nesting and integer digits are limited
(``modelkeep.limits``).
"""

from __future__ import annotations

import json
from typing import Any

from modelkeep.errors import InvalidMetadataError
from modelkeep.limits import DuplicateKeyError, InputLimitError, load_json
from modelkeep.schema.metadata import ModelMetadata
from modelkeep.schema.validation import LIMITS_HINT, metadata_from_data


def metadata_to_data(meta: ModelMetadata) -> dict[str, Any]:
    """The model as JSON-ready data: timestamps as ISO 8601 strings, NaN/inf as strings."""
    return meta.model_dump(mode="json")


def dump_json(meta: ModelMetadata) -> bytes:
    """Canonical JSON bytes of the model (sorted keys, deterministic)."""
    text = json.dumps(
        metadata_to_data(meta), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False
    )
    return (text + "\n").encode("utf-8")


def parse_json(data: bytes) -> ModelMetadata:
    """Decode JSON bytes; malformed JSON or invalid fields raise InvalidMetadataError."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidMetadataError(f"metadata JSON is not UTF-8: {exc.reason}") from None
    try:
        decoded = load_json(text, max_bytes=None, unique_keys=True)
    except json.JSONDecodeError as exc:
        raise InvalidMetadataError(
            f"metadata is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except DuplicateKeyError as exc:
        raise InvalidMetadataError(f"metadata JSON {exc}") from None
    except InputLimitError as exc:
        raise InvalidMetadataError(f"metadata JSON {exc}", hint=LIMITS_HINT) from None
    return metadata_from_data(decoded, source="JSON metadata")
