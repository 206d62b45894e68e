"""Reading and writing metadata by format and by file: lossless round trips among all three."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from schema_strategies import canonical, has_nan, metadata

from modelkeep.errors import InvalidMetadataError, PathNotFoundError
from modelkeep.schema import (
    SUFFIXES,
    ModelMetadata,
    dump_metadata,
    format_for_path,
    json_schema,
    load_metadata,
    parse_metadata,
    save_metadata,
    update_yaml_file,
)

FORMATS = ["json", "yaml", "proto"]
EXAMPLES = settings(max_examples=150, deadline=None)


@pytest.mark.parametrize("fmt", FORMATS)
@EXAMPLES
@given(meta=metadata)
def test_every_format_round_trips_losslessly(fmt: str, meta: ModelMetadata) -> None:
    back = parse_metadata(dump_metadata(meta, fmt), fmt)  # type: ignore[arg-type]
    assert canonical(back) == canonical(meta)
    if not has_nan(meta):
        assert back == meta


@pytest.mark.parametrize("fmt", FORMATS)
@EXAMPLES
@given(meta=metadata)
def test_dumps_are_stable_bytes(fmt: str, meta: ModelMetadata) -> None:
    data = dump_metadata(meta, fmt)  # type: ignore[arg-type]
    assert dump_metadata(parse_metadata(data, fmt), fmt) == data  # type: ignore[arg-type]


@EXAMPLES
@given(meta=metadata)
def test_chain_json_proto_yaml_json_is_identity(meta: ModelMetadata) -> None:
    start = dump_metadata(meta, "json")
    via_proto = dump_metadata(parse_metadata(start, "json"), "proto")
    via_yaml = dump_metadata(parse_metadata(via_proto, "proto"), "yaml")
    assert dump_metadata(parse_metadata(via_yaml, "yaml"), "json") == start


def test_format_is_chosen_by_suffix() -> None:
    assert format_for_path(Path("m.json")) == "json"
    assert format_for_path(Path("m.YAML")) == "yaml"
    assert format_for_path(Path("m.yml")) == "yaml"
    assert format_for_path(Path("m.pb")) == "proto"
    assert format_for_path(Path("m.binpb")) == "proto"
    with pytest.raises(InvalidMetadataError, match="cannot tell the metadata format of 'm.txt'"):
        format_for_path(Path("m.txt"))


@pytest.mark.parametrize("suffix", sorted(SUFFIXES))
def test_save_then_load_every_suffix(tmp_path: Path, suffix: str) -> None:
    meta = ModelMetadata.model_validate(
        {"name": "resnet", "version": "1.2.0", "performance": {"metrics": {"loss": float("nan")}}}
    )
    path = tmp_path / f"meta{suffix}"
    save_metadata(meta, path)
    assert canonical(load_metadata(path)) == canonical(meta)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_load_names_the_file_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("version: 1.0.0\n")
    with pytest.raises(InvalidMetadataError) as caught:
        load_metadata(path)
    assert caught.value.message == "broken.yaml: metadata field 'identity.name' is required"
    assert caught.value.fields == {"field": "identity.name", "path": str(path)}


def test_load_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(PathNotFoundError):
        load_metadata(tmp_path / "absent.json")
    folder = tmp_path / "dir.json"
    folder.mkdir()
    with pytest.raises(InvalidMetadataError, match="is a folder"):
        load_metadata(folder)


def test_unknown_suffix_is_refused_on_load_and_save(tmp_path: Path) -> None:
    path = tmp_path / "meta.toml"
    path.write_text("name = 'x'\n")
    meta = ModelMetadata.model_validate({"name": "x", "version": "1"})
    with pytest.raises(InvalidMetadataError):
        load_metadata(path)
    with pytest.raises(InvalidMetadataError):
        save_metadata(meta, path)


def test_unknown_format_name_and_non_bytes_are_refused() -> None:
    meta = ModelMetadata.model_validate({"name": "x", "version": "1"})
    with pytest.raises(InvalidMetadataError, match="unknown metadata format 'xml'"):
        dump_metadata(meta, "xml")  # type: ignore[arg-type]
    with pytest.raises(InvalidMetadataError, match="unknown metadata format"):
        parse_metadata(b"{}", "toml")  # type: ignore[arg-type]
    with pytest.raises(InvalidMetadataError, match="must be given as bytes"):
        parse_metadata('{"name": "x"}', "json")  # type: ignore[arg-type]


def test_save_over_a_yaml_file_keeps_its_comments(tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text("# the flagship model\nname: resnet  # keep this short\nversion: 1.0.0\n")
    meta = load_metadata(path)
    meta.identity.version = "1.1.0"
    save_metadata(meta, path)
    assert path.read_text() == (
        "# the flagship model\nname: resnet  # keep this short\nversion: 1.1.0\n"
    )
    update_yaml_file(path, meta.model_copy(update={"identity": meta.identity}))
    assert "# keep this short" in path.read_text()


def test_update_yaml_file_needs_an_existing_file(tmp_path: Path) -> None:
    meta = ModelMetadata.model_validate({"name": "x", "version": "1"})
    with pytest.raises(PathNotFoundError):
        update_yaml_file(tmp_path / "absent.yaml", meta)


def test_json_schema_is_published_with_every_section() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    for section in ("identity", "components", "technical", "performance", "deployment"):
        assert section in schema["properties"]
    for field in ("name", "version"):  # at the top level or under identity
        assert {"anyOf": [{"required": [field]}, {"required": ["identity"], "properties": {
            "identity": {"required": [field]}}}]} in schema["allOf"]
    identity = schema["properties"]["identity"]  # name and version may be at the top instead
    assert "required" not in identity and identity["additionalProperties"] is False
