"""The YAML export read by PyYAML (YAML 1.1, the most used reader) as ruamel (YAML 1.2) reads it."""

from __future__ import annotations

import math
from typing import Any

import yaml
from hypothesis import given, settings
from ruamel.yaml import YAML
from schema_strategies import YAML11_WORDS, metadata

from modelkeep.schema import ModelMetadata
from modelkeep.schema.yamlio import dump_yaml, parse_yaml


def readable(value: Any) -> Any:
    """A comparable form: types kept (True is not 'on'), NaN equal to NaN, maps by key."""
    if isinstance(value, dict):
        return sorted((repr(k), readable(v)) for k, v in value.items())
    if isinstance(value, list):
        return [readable(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value)


def both_readings(data: bytes) -> tuple[Any, Any]:
    return readable(yaml.safe_load(data)), readable(YAML(typ="safe", pure=True).load(data))


def test_values_yaml_1_1_reads_as_other_types_are_quoted() -> None:
    meta = ModelMetadata.model_validate({
        "identity": {"name": "m", "version": "1.0.0", "description": "yes", "tags": YAML11_WORDS},
        "components": {"hyperparameters": {
            "on": "off", "yes": 1, "ratio": "1:20", "tiny": 1e-300, "huge": 1e18, "third": 1 / 3,
            "neg": -2.5e-8, "whole": 3.0, "n": "no", "merge": "<<", "eq": "="}},
        "performance": {"metrics": {"huge": 1e300, "off": -1e-300}},
    })
    data = dump_yaml(meta)
    pyyaml, ruamel = both_readings(data)
    assert pyyaml == ruamel
    params = yaml.safe_load(data)["components"]["hyperparameters"]
    assert params == {"on": "off", "yes": 1, "ratio": "1:20", "tiny": 1e-300, "huge": 1e18,
                      "third": 1 / 3, "neg": -2.5e-8, "whole": 3.0, "n": "no", "merge": "<<",
                      "eq": "="}
    assert yaml.safe_load(data)["identity"]["tags"] == YAML11_WORDS
    assert yaml.safe_load(data)["performance"]["metrics"] == {"huge": 1e300, "off": -1e-300}
    assert parse_yaml(data) == meta


@settings(max_examples=200, deadline=None)
@given(meta=metadata)
def test_pyyaml_reads_every_export_as_ruamel_does(meta: ModelMetadata) -> None:
    data = dump_yaml(meta)
    pyyaml, ruamel = both_readings(data)
    assert pyyaml == ruamel, data.decode()
