"""ModelMetadata: every DESIGN.md field, minimal documents, the flat shorthand, the JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from pydantic import BaseModel, ValidationError
from schema_strategies import metadata

from modelkeep.schema import ModelMetadata, dump_metadata, json_schema, parse_metadata
from modelkeep.schema.metadata import SCHEMA_VERSION

# DESIGN.md "Metadata fields", each as the dotted path that carries it
DESIGN_FIELDS = [
    "identity.id", "identity.name", "identity.version", "identity.created", "identity.author",
    "identity.team", "identity.project", "identity.description", "identity.tags",
    "components.code.commit", "components.code.dirty", "components.code.diff", "components.code.snapshot",
    "components.datasets.role", "components.datasets.tree", "components.datasets.preprocessing",
    "components.datasets.augmentation", "components.pipeline.tree", "components.pipeline.scripts",
    "components.pipeline.config_files", "components.pipeline.command", "components.hyperparameters",
    "components.artifacts.tree", "components.artifacts.format", "components.artifacts.size_bytes",
    "technical.framework.name", "technical.framework.version", "technical.dependencies",
    "technical.hardware.min_ram_bytes", "technical.hardware.gpu_required",
    "technical.signature.inputs.name", "technical.signature.inputs.dtype", "technical.signature.inputs.shape",
    "technical.signature.outputs", "technical.model_size_bytes", "technical.memory_bytes",
    "performance.metrics", "performance.dataset_metrics", "performance.latency", "performance.resources",
    "deployment.config", "deployment.environment", "deployment.dependencies_lock", "deployment.rollouts",
]


def _has_path(model: type[BaseModel], path: list[str]) -> bool:
    field = model.model_fields.get(path[0])
    if field is None:
        return False
    if len(path) == 1:
        return True
    for candidate in (field.annotation, *getattr(field.annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return _has_path(candidate, path[1:])
    return False


@pytest.mark.parametrize("path", DESIGN_FIELDS)
def test_every_design_field_is_in_the_schema(path: str) -> None:
    assert _has_path(ModelMetadata, path.split("."))


def test_a_minimal_document_loads_with_defaults() -> None:
    meta = parse_metadata(b"name: x\nversion: 1.0.0\n", "yaml")
    assert (meta.identity.name, meta.identity.version) == ("x", "1.0.0")
    assert meta.schema_version == SCHEMA_VERSION
    assert meta.identity.created is None and meta.identity.tags == []
    assert meta.components.datasets == [] and meta.components.code.dirty is False
    assert meta.performance.metrics == {} and meta.deployment.rollouts == []


def test_flat_shorthand_equals_the_nested_form() -> None:
    flat = ModelMetadata.model_validate({"name": "x", "version": "1", "tags": ["a"]})
    nested = ModelMetadata.model_validate({"identity": {"name": "x", "version": "1", "tags": ["a"]}})
    mixed = ModelMetadata.model_validate({"name": "x", "identity": {"version": "1", "tags": ["a"]}})
    assert flat == nested == mixed
    assert b'"identity"' in dump_metadata(flat, "json")


def test_a_field_given_twice_is_refused() -> None:
    with pytest.raises(ValidationError, match="'name' is given both at the top level"):
        ModelMetadata.model_validate({"name": "x", "identity": {"name": "y", "version": "1"}})


def test_schema_versions_from_the_future_are_refused() -> None:
    with pytest.raises(ValidationError, match="newer than this modelkeep reads"):
        ModelMetadata.model_validate({"name": "x", "version": "1", "schema_version": 2})
    with pytest.raises(ValidationError, match="must be 1 or more"):
        ModelMetadata.model_validate({"name": "x", "version": "1", "schema_version": 0})


def test_unknown_fields_and_bad_assignments_are_refused() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        ModelMetadata.model_validate({"name": "x", "version": "1", "nmae": "typo"})
    meta = ModelMetadata.model_validate({"name": "x", "version": "1"})
    with pytest.raises(ValidationError):
        meta.identity.version = ""
    with pytest.raises(ValidationError):
        meta.components.code.commit = "not-a-commit"


def test_json_schema_accepts_the_minimal_and_flat_forms() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"name": "x", "version": "1.0.0"})
    assert validator.is_valid({"identity": {"name": "x", "version": "1.0.0"}})
    assert not validator.is_valid({"version": "1.0.0"})
    assert not validator.is_valid({"name": "x", "version": "1", "nmae": "typo"})


@settings(max_examples=50, deadline=None)
@given(meta=metadata)
def test_every_json_dump_follows_the_published_schema(meta: ModelMetadata) -> None:
    document = json.loads(dump_metadata(meta, "json"))
    jsonschema.Draft202012Validator(json_schema()).validate(document)


def _field_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    paths = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        paths.append(path)
        for candidate in (info.annotation, *getattr(info.annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                marker = "[]." if "list" in str(info.annotation) else "."
                paths += _field_paths(candidate, path + marker)
    return paths


def test_every_field_is_documented() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "metadata.md").read_text()
    paths = _field_paths(ModelMetadata)
    leaves = [p for p in paths if not any(o.startswith((p + ".", p + "[].")) for o in paths)]
    assert [path for path in leaves if f"| `{path}` |" not in docs] == []


def test_the_yaml_examples_in_the_docs_are_valid() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "metadata.md").read_text()
    examples = docs.split("```yaml\n")[1:]
    assert len(examples) >= 2
    for example in examples:
        meta = parse_metadata(example.split("```")[0].encode(), "yaml")
        assert meta.identity.name == "ticket-classifier"
