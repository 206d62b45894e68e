"""JSON: canonical strict RFC 8259 output, careful input."""

from __future__ import annotations

import json
import math

import pytest

from modelkeep.errors import InvalidMetadataError
from modelkeep.schema import ModelMetadata
from modelkeep.schema.jsonio import dump_json, parse_json


def test_output_is_canonical_json_with_nan_as_strings() -> None:
    meta = ModelMetadata.model_validate({
        "name": "m", "version": "1.0.0", "created": "2024-01-02T03:04:05.000006Z",
        "performance": {"metrics": {"z": 1.5, "loss": math.nan, "gain": math.inf,
                                    "drop": -math.inf}},
    })
    text = dump_json(meta).decode()
    assert text.endswith("}\n") and "\n  \"components\": {" in text
    data = json.loads(text, parse_constant=lambda name: pytest.fail(f"bare {name} in output"))
    assert list(data) == sorted(data)
    assert data["performance"]["metrics"] == {
        "drop": "-Infinity", "gain": "Infinity", "loss": "NaN", "z": 1.5
    }
    assert data["identity"]["created"] == "2024-01-02T03:04:05.000006Z"
    assert math.isnan(parse_json(dump_json(meta)).performance.metrics["loss"])


def test_unicode_is_written_as_utf8_not_escapes() -> None:
    meta = ModelMetadata.model_validate({"name": "modèle", "version": "1"})
    assert "modèle".encode() in dump_json(meta)


def test_bare_nan_literals_and_a_bom_are_accepted_on_input() -> None:
    data = b'\xef\xbb\xbf{"name": "m", "version": "1", "performance": {"metrics": {"a": NaN}}}'
    assert math.isnan(parse_json(data).performance.metrics["a"])


def test_nan_is_refused_where_json_scalars_are_required() -> None:
    data = b'{"name": "m", "version": "1", "components": {"hyperparameters": {"lr": NaN}}}'
    with pytest.raises(InvalidMetadataError, match="hyperparameters.lr' must be a finite number"):
        parse_json(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"name": "m",', "metadata is not valid JSON: Expecting property name"),
        (b'{"name": "a", "name": "b", "version": "1"}', "has the key 'name' twice"),
        (b'["name"]', "JSON metadata must be a mapping of fields, not list"),
        (b"\xff\xfe\x00", "metadata JSON is not UTF-8"),
        (b"[" * 100_000, "nested more than 64 levels deep"),
        (b'{"version": "1"}', "metadata field 'identity.name' is required"),
    ],
)
def test_bad_json_gives_one_line_errors(data: bytes, message: str) -> None:
    with pytest.raises(InvalidMetadataError) as caught:
        parse_json(data)
    assert message in caught.value.message
    assert "\n" not in caught.value.message
