"""Hypothesis strategies for arbitrary, valid ``ModelMetadata`` (shared by the schema tests)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from modelkeep.schema import ModelMetadata, dump_metadata

INT64 = st.integers(-(2**63), 2**63 - 1)
COUNT = st.integers(0, 2**63 - 1)
# plain words a YAML 1.1 reader (PyYAML) reads as another type: bool, int (sexagesimal, octal,
# hex, binary, underscores), float, null, timestamp, merge and value keys
YAML11_WORDS = ["yes", "No", "ON", "off", "y", "n", "1:20", "1:20.5", "017", "0x1F", "0b101",
                "1_000", "1e-300", ".5", "+12", "2001-12-14", "2001-12-14 21:59:43.10 -5",
                "=", "<<", "~", "Null", ".NaN", "-.Inf", "0o17"]
TEXT = st.text(max_size=8) | st.sampled_from(YAML11_WORDS)
NAME = st.text(min_size=1, max_size=8) | st.sampled_from(YAML11_WORDS)
# keys that mean something to YAML or look like other types, mixed with arbitrary ones
KEY = NAME | st.sampled_from(["<<", "null", "~", "true", "1", "1.5", "- x", "a: b", "#c", "*a", "&a"])
OBJECT_ID = st.binary(min_size=32, max_size=32).map(bytes.hex)
COMMIT = st.sampled_from([20, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n)).map(bytes.hex)
FLOAT = st.floats(allow_nan=False, allow_infinity=False, min_value=-9.2e18, max_value=9.2e18)  # int64 range
METRIC = st.floats()  # NaN and +/-inf included
SCALAR = st.booleans() | INT64 | FLOAT | TEXT
OFFSETS = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))])
TIMESTAMP = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=OFFSETS
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def record(required: dict[str, Any], optional: dict[str, Any]) -> st.SearchStrategy[dict]:
    """A dict with every required key and a random subset of the optional ones."""
    return st.fixed_dictionaries(required, optional=optional)


def lists(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[list]:
    return st.lists(strategy, max_size=2)


def maps(values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict]:
    return st.dictionaries(KEY, values, max_size=3)


STEP = record({"name": NAME}, {"params": maps(SCALAR)})
DATASET = record(
    {"name": NAME, "role": st.sampled_from(["train", "validation", "test"])},
    {"tree": maybe(OBJECT_ID), "source": maybe(TEXT), "preprocessing": lists(STEP),
     "augmentation": lists(STEP)},
)
COMPONENTS = record({}, {
    "code": record({}, {"repository": maybe(TEXT), "commit": maybe(COMMIT), "branch": maybe(TEXT),
                        "dirty": st.booleans(), "diff": maybe(OBJECT_ID),
                        "snapshot": maybe(OBJECT_ID)}),
    "datasets": lists(DATASET),
    "pipeline": record({}, {"tree": maybe(OBJECT_ID), "scripts": lists(TEXT),
                            "config_files": lists(TEXT), "command": lists(TEXT)}),
    "hyperparameters": maps(SCALAR),
    "artifacts": record({}, {"tree": maybe(OBJECT_ID), "format": maybe(TEXT),
                             "size_bytes": maybe(COUNT)}),
})
TENSOR = record(
    {"name": NAME, "dtype": NAME}, {"shape": maybe(lists(st.integers(-1, 2**63 - 1)))}
)
SOURCE = st.sampled_from(["declared", "inferred"])
TECHNICAL = record({}, {
    "framework": record({}, {"name": maybe(TEXT), "version": maybe(TEXT)}),
    "dependencies": lists(TEXT),
    "hardware": record({}, {"min_ram_bytes": maybe(COUNT), "gpu_required": st.booleans(),
                            "gpu_count": maybe(COUNT), "gpu_memory_bytes": maybe(COUNT),
                            "gpu_type": maybe(TEXT)}),
    "signature": record({}, {"inputs": lists(TENSOR), "outputs": lists(TENSOR),
                             "source": maybe(SOURCE), "inferred_from": maybe(TEXT)}),
    "model_size_bytes": maybe(COUNT),
    "parameters": maybe(COUNT),
    "memory_bytes": maybe(COUNT),
    "loader": record({}, {"kind": maybe(st.sampled_from(["python", "onnx", "skops",
                                                         "safetensors", "pickle", "hosted"])),
                          "file": maybe(TEXT), "entry_point": maybe(TEXT),
                          "example_input": maybe(TEXT)}),
    "fingerprint": record({}, {"value": maybe(TEXT), "source": maybe(SOURCE),
                               "inferred_from": maybe(TEXT)}),
})
PERFORMANCE = record({}, {
    "metrics": maps(METRIC),
    "dataset_metrics": maps(maps(METRIC)),
    "latency": record({}, {"p50_ms": maybe(METRIC), "p95_ms": maybe(METRIC),
                           "p99_ms": maybe(METRIC), "mean_ms": maybe(METRIC),
                           "batch_size": maybe(COUNT)}),
    "resources": record({}, {"cpu_percent": maybe(METRIC), "memory_bytes": maybe(COUNT),
                             "gpu_memory_bytes": maybe(COUNT),
                             "throughput_per_second": maybe(METRIC)}),
})
ROLLOUT = record({"at": TIMESTAMP}, {
    "environment": maybe(TEXT), "strategy": maybe(TEXT), "traffic_percent": maybe(METRIC),
    "status": maybe(TEXT), "actor": maybe(TEXT), "note": maybe(TEXT),
})
DEPLOYMENT = record({}, {
    "config": maps(SCALAR), "environment": maps(TEXT), "dependencies_lock": lists(TEXT),
    "rollouts": lists(ROLLOUT),
})
IDENTITY = record({"name": NAME, "version": NAME}, {
    "id": maybe(TEXT), "created": maybe(TIMESTAMP), "author": maybe(TEXT), "team": maybe(TEXT),
    "project": maybe(TEXT), "description": maybe(TEXT), "tags": lists(NAME),
})
METADATA_DATA = record({"identity": IDENTITY}, {
    "components": COMPONENTS, "technical": TECHNICAL, "performance": PERFORMANCE,
    "deployment": DEPLOYMENT,
})
metadata = METADATA_DATA.map(ModelMetadata.model_validate)


def canonical(meta: ModelMetadata) -> bytes:
    """Canonical JSON: equal bytes means the same metadata, NaN included (NaN != NaN)."""
    return dump_metadata(meta, "json")


def has_nan(meta: ModelMetadata) -> bool:
    """True when some float in the model is NaN, so ``==`` cannot be used to compare it."""

    def walk(value: Any) -> bool:
        if isinstance(value, float):
            return math.isnan(value)
        if isinstance(value, dict):
            return any(walk(item) for item in value.values())
        if isinstance(value, list):
            return any(walk(item) for item in value)
        return False

    return walk(meta.model_dump())
