"""Field types shared by every metadata model: exact scalars, metrics, ids and UTC timestamps.

Each type validates strictly (no silent ``"5"`` -> ``5``) so that a value survives JSON, YAML and
protobuf unchanged:

- ``Scalar`` (hyperparameters, deployment config): a JSON scalar, ``str | int | float | bool``;
  ``int`` and ``float`` stay distinct, numbers lie in the int64 range (JSON Schema cannot tell
  the float ``1e19`` from an integer, so it is refused too), floats are finite (JSON has no NaN).
- ``Metric``: a float that may be NaN or +/-infinity. JSON carries those as the strings
  ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (RFC 8259 has no NaN literal); YAML as ``.nan``,
  ``.inf``, ``-.inf``; protobuf as IEEE doubles. Ints are accepted and become floats.
- ``Text``, ``Name`` and string scalars: no lone surrogates (U+D800-U+DFFF), which JSON
  escapes and undecodable command-line bytes can produce but no UTF-8 output can encode.
- ``Timestamp``: timezone-aware RFC 3339 (the JSON Schema ``date-time``), normalised to UTC;
  naive times are rejected, because the zone they were written in cannot be known.
"""

from __future__ import annotations

import math
import re
import sys
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    SerializationInfo,
    StrictBool,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    WrapSerializer,
)
from pydantic_core import PydanticCustomError

from modelkeep.limits import has_surrogate

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
FLOAT_MAX = sys.float_info.max
NONFINITE_STRINGS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
SURROGATE_MESSAGE = "must not hold a lone surrogate (U+D800-U+DFFF): no UTF-8 can encode it"
_DATE_TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
RFC3339 = re.compile(rf"^{_DATE_TIME}([Zz]|[+-][0-9]{{2}}:[0-9]{{2}})$")
_RFC3339_NAIVE = re.compile(rf"^{_DATE_TIME}$")
# the first and last day of the calendar with an offset that may leave years 1-9999 in UTC:
# refused whatever the time, a rule JSON Schema can state too
_NONZERO_OFFSET = r"(([0-9][1-9]|[1-9][0-9]):[0-9]{2}|00:([0-9][1-9]|[1-9][0-9]))"
CALENDAR_EDGE = re.compile(rf"^(0001-01-01[Tt].*[+]{_NONZERO_OFFSET}|9999-12-31[Tt].*-{_NONZERO_OFFSET})$")
NATIVE_FLOATS = "native_floats"  # serialization context key: keep NaN/inf as floats (YAML)


class MetadataModel(BaseModel):
    """Base of every metadata model: unknown fields are errors, assignments are validated."""

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, ser_json_inf_nan="constants"
    )


def _check_text(value: str) -> str:
    if has_surrogate(value):
        raise PydanticCustomError("text_surrogate", SURROGATE_MESSAGE)
    return value


def _check_scalar(value: Any) -> bool | int | float | str:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _check_text(value)
    if isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            return value
        raise PydanticCustomError("scalar_range", "integer out of the int64 range")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise PydanticCustomError("scalar_finite", "must be a finite number (JSON has no NaN)")
        if INT64_MIN <= value <= INT64_MAX:
            return value
        # JSON Schema cannot tell 1e19 from the integer 10000000000000000000: both are refused
        raise PydanticCustomError("scalar_range", "number out of the int64 range (write it as a string)")
    raise PydanticCustomError("scalar_type", "must be a string, integer, float or boolean")


def _check_metric(value: Any) -> float:
    if isinstance(value, float):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if -FLOAT_MAX <= value <= FLOAT_MAX:
            return float(value)
        raise PydanticCustomError("metric_range", "number too large for a float")
    if isinstance(value, str) and value in NONFINITE_STRINGS:
        return NONFINITE_STRINGS[value]
    raise PydanticCustomError("metric_type", "must be a number, 'NaN', 'Infinity' or '-Infinity'")


def _serialize_metric(value: float, info: SerializationInfo) -> float | str:
    if math.isfinite(value) or (info.context or {}).get(NATIVE_FLOATS):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _integral(value: Any) -> Any:
    """An integral float (``5.0``) as the integer it is: JSON Schema, and JSON, do not tell
    them apart, so neither does an integer field. Anything else is left to the strict check."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _require_text_or_datetime(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        # RFC 3339, the JSON Schema "date-time": no unix seconds, no missing seconds, no comma;
        # a string without a zone goes on, to be refused as naive with its own message
        if CALENDAR_EDGE.fullmatch(value):
            raise PydanticCustomError("timestamp_range", "is outside the years 1 to 9999 in UTC")
        if RFC3339.fullmatch(value) or _RFC3339_NAIVE.fullmatch(value):
            return value
        raise PydanticCustomError(
            "timestamp_format", "must be an RFC 3339 timestamp, e.g. 2024-05-01T10:00:00Z"
        )
    raise PydanticCustomError("timestamp_type", "must be an ISO 8601 timestamp with a timezone")


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError("timestamp_range", "is outside the years 1 to 9999 in UTC") from None


def _sorted_mapping(value: dict[str, Any], handler: Any) -> dict[str, Any]:
    return dict(sorted(handler(value).items()))


Scalar = Annotated[
    bool | int | float | str,
    PlainValidator(_check_scalar),
    WithJsonSchema({"anyOf": [{"type": ["string", "boolean"]},
                              {"type": "number", "minimum": INT64_MIN, "maximum": INT64_MAX}]}),
]
Metric = Annotated[
    float,
    PlainValidator(_check_metric),
    PlainSerializer(_serialize_metric, when_used="json"),
    WithJsonSchema({"anyOf": [{"type": "number", "minimum": -FLOAT_MAX, "maximum": FLOAT_MAX},
                              {"enum": list(NONFINITE_STRINGS)}]}),
]
Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_require_text_or_datetime),
    AfterValidator(_to_utc),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": RFC3339.pattern,
                    "not": {"pattern": CALENDAR_EDGE.pattern}}),
]
Text = Annotated[StrictStr, AfterValidator(_check_text)]
Name = Annotated[StrictStr, Field(min_length=1), AfterValidator(_check_text)]
Flag = StrictBool
Count = Annotated[StrictInt, Field(ge=0, le=INT64_MAX), BeforeValidator(_integral)]
Dimension = Annotated[StrictInt, Field(ge=-1, le=INT64_MAX), BeforeValidator(_integral)]
ObjectId = Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{64}$")]
GitCommit = Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{40}([0-9a-f]{24})?$")]
ScalarMap = Annotated[dict[Name, Scalar], WrapSerializer(_sorted_mapping)]
MetricMap = Annotated[dict[Name, Metric], WrapSerializer(_sorted_mapping)]
TextMap = Annotated[dict[Name, Text], WrapSerializer(_sorted_mapping)]
MetricTable = Annotated[dict[Name, MetricMap], WrapSerializer(_sorted_mapping)]
