"""The protobuf wire format: in sync with the .proto and the models, exact, and strict on input."""

from __future__ import annotations

import importlib.resources
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor
from grpc_tools import protoc
from pydantic import BaseModel

from modelkeep.errors import InvalidMetadataError
from modelkeep.schema import ModelMetadata, modelkeep_pb2
from modelkeep.schema.protoio import dump_proto, parse_proto, to_proto

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "src" / "modelkeep" / "schema"
WRAPPERS = {"Scalar", "Shape", "MetricValues", "Timestamp"}


def _without_json_names(messages: list[descriptor_pb2.DescriptorProto]) -> None:
    for message in messages:
        for field in message.field:
            field.ClearField("json_name")
        _without_json_names(list(message.nested_type))


def test_checked_in_code_matches_the_proto(tmp_path: Path) -> None:
    """Whoever edits modelkeep.proto must run scripts/gen_proto.sh."""
    includes = importlib.resources.files("grpc_tools") / "_proto"
    out = tmp_path / "set.binpb"
    status = protoc.main(["protoc", f"-I{ROOT / 'src'}", f"-I{includes}",
                          f"--descriptor_set_out={out}", str(SCHEMA_DIR / "modelkeep.proto")])
    assert status == 0
    compiled = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file[0]
    checked_in = descriptor_pb2.FileDescriptorProto.FromString(modelkeep_pb2.DESCRIPTOR.serialized_pb)
    _without_json_names(list(compiled.message_type))
    assert compiled == checked_in, "modelkeep_pb2.py is stale: run scripts/gen_proto.sh"


def test_generated_code_runs_on_the_oldest_supported_protobuf() -> None:
    """The gencode may not demand a protobuf runtime newer than pyproject's floor."""
    floor = re.search(r'"protobuf>=([\d.]+)"', (ROOT / "pyproject.toml").read_text())
    generated = (SCHEMA_DIR / "modelkeep_pb2.py").read_text()
    version = re.search(r"Protobuf Python Version: ([\d.]+)", generated)
    assert floor and version

    def parts(text: str) -> tuple[int, ...]:
        return tuple(int(part) for part in text.split("."))

    assert parts(version.group(1))[:2] <= parts(floor.group(1))[:2]
    assert "ValidateProtobufRuntimeVersion" not in generated


def _pairs(model: type[BaseModel], message: Descriptor) -> list[tuple[type[BaseModel], Descriptor]]:
    found = [(model, message)]
    for name, info in model.model_fields.items():
        field = message.fields_by_name[name]
        nested = field.message_type
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            nested = field.message_type.fields_by_name["value"].message_type
        candidates = [arg for arg in _type_args(info.annotation) if isinstance(arg, type)
                      and issubclass(arg, BaseModel)]
        if nested is not None and nested.name not in WRAPPERS and candidates:
            found += _pairs(candidates[0], nested)
    return found


def _type_args(annotation: object) -> list[object]:
    args = list(getattr(annotation, "__args__", ()))
    return [annotation, *args, *(inner for arg in args for inner in _type_args(arg))]


def test_every_model_field_has_a_proto_field_of_the_same_name() -> None:
    pairs = _pairs(ModelMetadata, modelkeep_pb2.ModelMetadata.DESCRIPTOR)
    assert len(pairs) >= 20
    for model, message in pairs:
        assert list(model.model_fields) == [field.name for field in message.fields], model


def test_int_and_float_hyperparameters_stay_distinct() -> None:
    meta = ModelMetadata.model_validate({
        "name": "m", "version": "1",
        "components": {"hyperparameters": {"epochs": 3, "lr": 3.0, "big": 2**63 - 1,
                                           "flag": True, "opt": "adam"}},
    })
    msg = to_proto(meta)
    kinds = {k: v.WhichOneof("kind") for k, v in msg.components.hyperparameters.items()}
    assert kinds == {"epochs": "int_value", "lr": "float_value", "big": "int_value",
                     "flag": "bool_value", "opt": "string_value"}
    back = parse_proto(dump_proto(meta)).components.hyperparameters
    assert back == {"epochs": 3, "lr": 3.0, "big": 2**63 - 1, "flag": True, "opt": "adam"}
    assert type(back["epochs"]) is int and type(back["lr"]) is float and type(back["flag"]) is bool


def test_absent_differs_from_empty_and_zero() -> None:
    meta = ModelMetadata.model_validate({
        "name": "m", "version": "1", "identity": {"description": ""},
        "components": {"artifacts": {"size_bytes": 0}},
        "technical": {"signature": {"inputs": [{"name": "x", "dtype": "f", "shape": []},
                                               {"name": "y", "dtype": "f"}]}},
    })
    back = parse_proto(dump_proto(meta))
    assert back.identity.description == "" and back.identity.author is None
    assert back.components.artifacts.size_bytes == 0 and back.technical.parameters is None
    assert [spec.shape for spec in back.technical.signature.inputs] == [[], None]


def test_timestamps_keep_microseconds_and_come_back_in_utc() -> None:
    meta = ModelMetadata.model_validate(
        {"name": "m", "version": "1", "created": "2024-02-29T23:59:59.999999-05:00"}
    )
    assert parse_proto(dump_proto(meta)).identity.created == datetime(
        2024, 3, 1, 4, 59, 59, 999999, tzinfo=UTC
    )


def test_output_is_deterministic_whatever_the_insertion_order() -> None:
    one = {"name": "m", "version": "1", "performance": {"metrics": {"a": 1.0, "b": 2.0}}}
    two = {"name": "m", "version": "1", "performance": {"metrics": {"b": 2.0, "a": 1.0}}}
    assert dump_proto(ModelMetadata.model_validate(one)) == dump_proto(ModelMetadata.model_validate(two))


@pytest.mark.parametrize("data", [b"\xff\xff\xff", b"\x12\x05\x12\x01", b"\x0a"])
def test_malformed_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidMetadataError, match="metadata is not valid protobuf"):
        parse_proto(data)


def test_unknown_fields_are_refused_with_where_they_are() -> None:
    msg = to_proto(ModelMetadata.model_validate({"name": "m", "version": "1"}))
    extra = b"\xa0\x06\x01"  # field 100, varint 1
    with pytest.raises(InvalidMetadataError, match="does not know, in '\\(top level\\)'"):
        parse_proto(msg.SerializeToString() + extra)
    inner = modelkeep_pb2.CodeComponent.FromString(extra)
    msg.components.code.CopyFrom(inner)
    with pytest.raises(InvalidMetadataError, match="in 'components.code'"):
        parse_proto(msg.SerializeToString())


def test_missing_required_fields_are_named() -> None:
    with pytest.raises(InvalidMetadataError, match="'identity.name' is required"):
        parse_proto(b"")
    msg = to_proto(ModelMetadata.model_validate(
        {"name": "m", "version": "1", "components": {"datasets": [{"name": "d", "role": "test"}]}}
    ))
    msg.components.datasets[0].role = modelkeep_pb2.DATASET_ROLE_UNSPECIFIED
    with pytest.raises(InvalidMetadataError, match="'components.datasets.0.role' is required"):
        parse_proto(msg.SerializeToString())
    msg.components.datasets[0].role = 7  # an enum number this schema does not know
    with pytest.raises(InvalidMetadataError, match="components.datasets.0.role"):
        parse_proto(msg.SerializeToString())


def test_empty_scalar_and_bad_timestamp_are_refused() -> None:
    msg = to_proto(ModelMetadata.model_validate({"name": "m", "version": "1"}))
    msg.components.hyperparameters["lr"].SetInParent()
    with pytest.raises(InvalidMetadataError, match="hyperparameters.lr' must be a string"):
        parse_proto(msg.SerializeToString())
    msg.components.hyperparameters.clear()
    msg.identity.created.seconds = 300_000_000_000
    with pytest.raises(InvalidMetadataError, match="'created' is out of the timestamp range"):
        parse_proto(msg.SerializeToString())
