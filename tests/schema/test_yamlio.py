"""YAML: compact readable output, strict input, and edits that keep a file's comments."""

from __future__ import annotations

import contextlib
import math

import pytest
from hypothesis import given, settings
from schema_strategies import canonical, metadata

from modelkeep.errors import InvalidMetadataError
from modelkeep.schema import ModelMetadata
from modelkeep.schema.jsonio import dump_json
from modelkeep.schema.yamlio import dump_yaml, parse_yaml, update_yaml

COMMENTED = b"""\
# Model card for the support-ticket classifier.
name: ticket-classifier   # lowercase, dashes
version: 2.1.0
components:
  # learning rate found by sweep 14
  hyperparameters:
    lr: 0.00030   # do not raise
    epochs: 12
  datasets:
    - name: tickets-2024   # the big one
      role: train
performance:
  metrics:
    accuracy: 0.91
"""


def _meta(data: dict) -> ModelMetadata:
    return ModelMetadata.model_validate(data)


def test_output_is_compact_and_uses_yaml_nan() -> None:
    meta = _meta({"name": "m", "version": "1.0.0", "performance": {
        "metrics": {"loss": float("nan"), "gain": float("inf"), "drop": -math.inf}}})
    assert dump_yaml(meta) == (
        b"schema_version: 1\nidentity:\n  name: m\n  version: 1.0.0\n"
        b"performance:\n  metrics:\n    drop: -.inf\n    gain: .inf\n    loss: .nan\n"
    )


def test_comments_survive_a_load_edit_save() -> None:
    meta = parse_yaml(COMMENTED)
    meta.components.hyperparameters["epochs"] = 20
    meta.performance.metrics["f1"] = 0.88
    meta.identity.author = "ana"
    text = update_yaml(COMMENTED, meta).decode()
    for comment in ("# Model card", "# lowercase, dashes", "# learning rate found by sweep 14",
                    "# do not raise", "# the big one"):
        assert comment in text
    assert "epochs: 20" in text and "f1: 0.88" in text and "author: ana" in text
    assert "lr: 0.00030" in text  # unchanged values keep their spelling
    assert "identity:" not in text  # the flat shorthand stays flat
    assert "schema_version" not in text and "dirty" not in text  # defaults are not added
    assert canonical(parse_yaml(text.encode())) == canonical(meta)


def test_update_removes_what_the_model_no_longer_has() -> None:
    meta = parse_yaml(COMMENTED)
    meta.components.datasets = []
    del meta.components.hyperparameters["lr"]
    text = update_yaml(COMMENTED, meta).decode()
    assert "tickets-2024" not in text and "lr:" not in text
    assert "# learning rate found by sweep 14" in text


def test_update_of_an_unchanged_model_changes_nothing() -> None:
    assert update_yaml(COMMENTED, parse_yaml(COMMENTED)) == COMMENTED


def test_update_of_an_empty_document_writes_the_model() -> None:
    meta = _meta({"name": "m", "version": "1"})
    assert parse_yaml(update_yaml(b"", meta)) == meta


@settings(max_examples=60, deadline=None)
@given(old=metadata, new=metadata)
def test_update_holds_exactly_the_new_model(old: ModelMetadata, new: ModelMetadata) -> None:
    starts = [dump_yaml(old), b"# header\n" + dump_yaml(old)]
    flow = dump_json(old)  # JSON is flow-style YAML, unless it holds characters YAML forbids
    with contextlib.suppress(InvalidMetadataError):
        parse_yaml(flow)
        starts.append(flow)
    for start in starts:
        updated = update_yaml(start, new)
        assert canonical(parse_yaml(updated)) == canonical(new)
        assert updated.startswith(b"# header\n") == start.startswith(b"# header\n")


@settings(max_examples=50, deadline=None)
@given(new=metadata)
def test_update_of_a_flat_file_holds_the_new_model(new: ModelMetadata) -> None:
    flat = b"name: old  # c\nversion: 0.1.0\nauthor: someone\n"
    updated = update_yaml(flat, new)
    assert canonical(parse_yaml(updated)) == canonical(new)
    assert b"# c" in updated


def test_timestamps_written_by_hand_are_read() -> None:
    meta = parse_yaml(b"name: m\nversion: '1'\ncreated: 2024-05-01T12:00:00+02:00\n")
    assert meta.identity.created is not None
    assert meta.identity.created.isoformat() == "2024-05-01T10:00:00+00:00"
    unchanged = b"name: m\nversion: '1'\ncreated: 2024-05-01T10:00:00Z  # utc\n"
    assert update_yaml(unchanged, parse_yaml(unchanged)) == unchanged


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"name: [unclosed\n", "not valid YAML: while parsing a flow sequence, expected ','"),
        (b"name: a\nname: b\nversion: '1'\n", "found duplicate key \"name\""),
        (b"name: !!python/object:os.system x\n", "could not determine a constructor"),
        (b"--- {name: a}\n--- {name: b}\n", "stream, but found another document at line 2"),
        (b"", "metadata YAML is empty"),
        (b"- a\n- b\n", "YAML metadata must be a mapping of fields, not list"),
        (b"\xff\xfe", "metadata YAML is not UTF-8"),
        (b"name: m\nversion: 1.0\n", "'identity.version' must be a string, not float"),
        (b"name: m\nversion: '1'\ncreated: 2024-05-01 12:00:00\n", "must have a timezone"),
        (b"name: m\nversion: '1'\ncreated: 2024-05-01\n", "'identity.created' must be an ISO 8601"),
    ],
)
def test_bad_yaml_gives_one_line_errors(text: bytes, message: str) -> None:
    with pytest.raises(InvalidMetadataError) as caught:
        parse_yaml(text)
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_update_refuses_a_document_that_is_not_a_mapping() -> None:
    meta = _meta({"name": "m", "version": "1"})
    with pytest.raises(InvalidMetadataError, match="must be a mapping of fields, not CommentedSeq"):
        update_yaml(b"- a\n", meta)
    with pytest.raises(InvalidMetadataError, match="not valid YAML"):
        update_yaml(b"a: [\n", meta)
