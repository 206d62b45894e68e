"""Field types: exact scalars, metrics with NaN, strict ids, UTC timestamps."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from modelkeep.schema.types import Count, Metric, MetricMap, ObjectId, Scalar, Timestamp

SCALAR = TypeAdapter(Scalar)
METRIC = TypeAdapter(Metric)
TIMESTAMP = TypeAdapter(Timestamp)


@pytest.mark.parametrize("value", [True, False, 0, -(2**63), 2**63 - 1, 0.5, -0.0, "", "x"])
def test_scalars_keep_value_and_type(value: object) -> None:
    assert SCALAR.validate_python(value) == value
    assert type(SCALAR.validate_python(value)) is type(value)


@pytest.mark.parametrize("value", [math.nan, math.inf, 2**63, -(2**63) - 1, 1e19, -1e300, None, [1],
                                   {"a": 1}, b"x"])
def test_non_scalars_are_refused(value: object) -> None:
    with pytest.raises(ValidationError):
        SCALAR.validate_python(value)


def test_metrics_take_numbers_and_the_three_nonfinite_strings() -> None:
    assert METRIC.validate_python(3) == 3.0 and type(METRIC.validate_python(3)) is float
    assert math.isnan(METRIC.validate_python("NaN"))
    assert METRIC.validate_python("Infinity") == math.inf
    assert METRIC.validate_python("-Infinity") == -math.inf
    for bad in (True, "nan", "inf", "0.5", None, 10**400):
        with pytest.raises(ValidationError):
            METRIC.validate_python(bad)


def test_metric_maps_serialize_sorted_with_nonfinite_strings_in_json() -> None:
    adapter = TypeAdapter(MetricMap)
    value = adapter.validate_python({"b": math.nan, "a": 1})
    assert adapter.dump_python(value, mode="json") == {"a": 1.0, "b": "NaN"}
    assert list(adapter.dump_python({"b": 1.0, "a": 2.0})) == ["a", "b"]


def test_timestamps_are_aware_and_normalised_to_utc() -> None:
    value = TIMESTAMP.validate_python("2024-06-01T12:00:00+02:00")
    assert value == datetime(2024, 6, 1, 10, tzinfo=UTC) and value.tzinfo is UTC
    for bad in ("2024-06-01T12:00:00", datetime(2024, 1, 1), 1_700_000_000, "yesterday",
                "0001-01-01T00:00:00+01:00"):
        with pytest.raises(ValidationError):
            TIMESTAMP.validate_python(bad)


def test_object_ids_and_counts_are_strict() -> None:
    ObjectId_ = TypeAdapter(ObjectId)
    assert ObjectId_.validate_python("a" * 64) == "a" * 64
    for bad in ("A" * 64, "a" * 63, "g" * 64):
        with pytest.raises(ValidationError):
            ObjectId_.validate_python(bad)
    counts = TypeAdapter(Count)
    for bad in (-1, 2**63, "5", 5.5, 1e19, math.inf, True):
        with pytest.raises(ValidationError):
            counts.validate_python(bad)
    # JSON (and JSON Schema) do not tell 5.0 from 5: an integral float is that integer
    assert counts.validate_python(5.0) == 5 and type(counts.validate_python(5.0)) is int
