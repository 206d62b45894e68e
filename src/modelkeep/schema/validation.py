"""Turn decoded data into a ``ModelMetadata``, or into one clear ``InvalidMetadataError``.

Pydantic reports every problem at once, in a multi-line message. A user fixing a file wants the
first problem, named by its dotted path, on one line, and to know whether more follow.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from modelkeep.errors import InvalidMetadataError
from modelkeep.schema.metadata import ModelMetadata
from modelkeep.schema.types import SURROGATE_MESSAGE

LIMITS_HINT = "see the input limits in docs/metadata.md"

_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "bool_type": "a boolean",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def field_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as the dotted path a user sees in the file."""
    if loc and loc[-1] == "[key]":
        return field_path(loc[:-2])
    return ".".join(str(part) for part in loc)


def _describe(error: ErrorDetails) -> str:
    kind = error["type"]
    loc = error["loc"]
    prefix = f"key {loc[-2]!r}:" if loc and loc[-1] == "[key]" else ""
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind == "string_unicode":  # pydantic-core's own check for lone surrogates
        return f"{prefix} {SURROGATE_MESSAGE}".lstrip()
    if kind == "timezone_aware":
        return "must have a timezone (a naive time is ambiguous); use e.g. 'Z' for UTC"
    if kind in _TYPE_NAMES:
        found = type(error.get("input")).__name__
        return f"{prefix} must be {_TYPE_NAMES[kind]}, not {found}".lstrip()
    message = error["msg"].removeprefix("Value error, ")
    if not prefix and message.startswith(("must ", "is ")):
        return message
    return f"{prefix or ':'} {message[:1].lower()}{message[1:]}"


def error_message(exc: ValidationError) -> str:
    """One line naming the first invalid field, and how many more problems there are."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    path = field_path(first["loc"])
    where = f"metadata field '{path}'" if path else "metadata"
    description = _describe(first)
    line = f"{where}{'' if description.startswith(':') else ' '}{description}"
    if len(errors) > 1:
        more = len(errors) - 1
        line += f" (and {more} more problem{'s' if more > 1 else ''})"
    return line.replace("\r", "\\r").replace("\n", "\\n")


def metadata_from_data(data: Any, *, source: str = "metadata") -> ModelMetadata:
    """Validate decoded JSON/YAML/protobuf data into a model; bad data raises one clear error."""
    if not isinstance(data, dict):
        raise InvalidMetadataError(
            f"{source} must be a mapping of fields, not {type(data).__name__}",
            hint="see `modelkeep schema` for the expected shape",
        )
    try:
        return ModelMetadata.model_validate(data)
    except ValidationError as exc:
        raise InvalidMetadataError(
            error_message(exc),
            hint="see docs/metadata.md or `modelkeep schema` for every field",
            field=field_path(exc.errors()[0]["loc"]),
        ) from None
