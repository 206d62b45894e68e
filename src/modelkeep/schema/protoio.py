"""Protocol Buffers encoding of ``ModelMetadata`` (``modelkeep.proto``).

The proto messages mirror the pydantic models field for field, with the same names, so one
generic walk over the message descriptors converts both ways; only four message types are
special: ``google.protobuf.Timestamp`` (an aware UTC datetime, microsecond precision),
``Scalar`` (a oneof that keeps int and float apart), and the wrappers ``Shape`` and
``MetricValues`` (a list and a map that proto cannot nest directly). Enum values are the
lower-cased names after the enum's prefix: ``DATASET_ROLE_TRAIN`` <-> ``"train"``.
Decoding goes through the same validation as JSON and YAML, and rejects unknown fields.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message
from google.protobuf.unknown_fields import UnknownFieldSet

from modelkeep.errors import InvalidMetadataError
from modelkeep.schema import modelkeep_pb2
from modelkeep.schema.metadata import ModelMetadata
from modelkeep.schema.validation import metadata_from_data

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TIMESTAMP = "google.protobuf.Timestamp"
_SCALAR = "modelkeep.metadata.v1.Scalar"
_WRAPPERS = {"modelkeep.metadata.v1.Shape": "dims", "modelkeep.metadata.v1.MetricValues": "values"}
_SCALAR_FIELDS = ((bool, "bool_value"), (int, "int_value"), (float, "float_value"))


def _is_repeated(field: FieldDescriptor) -> bool:
    flag = getattr(field, "is_repeated", None)  # protobuf >= 6.x; ``label`` before that
    return bool(flag) if flag is not None else field.label == FieldDescriptor.LABEL_REPEATED


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _enum_prefix(enum: EnumDescriptor) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"


# ---- model -> proto -------------------------------------------------------------------------


def _fill(msg: Message, data: dict[str, Any]) -> None:
    msg.SetInParent()
    for name, value in data.items():
        field = msg.DESCRIPTOR.fields_by_name[name]
        if value is None:
            continue
        target = getattr(msg, name)
        if _is_map(field):
            value_field = field.message_type.fields_by_name["value"]
            for key, item in value.items():
                if value_field.message_type is not None:
                    _set_message(target[key], item)
                else:
                    target[key] = item
        elif _is_repeated(field):
            for item in value:
                if field.message_type is not None:
                    _set_message(target.add(), item)
                else:
                    target.append(item)
        elif field.message_type is not None:
            _set_message(target, value)
        elif field.enum_type is not None:
            number = field.enum_type.values_by_name[_enum_prefix(field.enum_type) + value.upper()]
            setattr(msg, name, number.number)
        else:
            setattr(msg, name, value)


def _set_message(msg: Message, value: Any) -> None:
    kind = msg.DESCRIPTOR.full_name
    if kind == _TIMESTAMP:
        delta = value - _EPOCH
        msg.seconds = delta.days * 86400 + delta.seconds
        msg.nanos = delta.microseconds * 1000
    elif kind == _SCALAR:
        field = next((name for cls, name in _SCALAR_FIELDS if isinstance(value, cls)), None)
        setattr(msg, field or "string_value", value)
    elif kind in _WRAPPERS:
        msg.SetInParent()
        inner = getattr(msg, _WRAPPERS[kind])
        if isinstance(value, dict):
            inner.update(value)
        else:
            inner.extend(value)
    else:
        _fill(msg, value)


def to_proto(meta: ModelMetadata) -> modelkeep_pb2.ModelMetadata:
    """The protobuf message for a metadata model."""
    msg = modelkeep_pb2.ModelMetadata()
    _fill(msg, meta.model_dump(mode="python"))
    return msg


def dump_proto(meta: ModelMetadata) -> bytes:
    """Deterministic binary protobuf (map entries sorted by key)."""
    return to_proto(meta).SerializeToString(deterministic=True)


# ---- proto -> model -------------------------------------------------------------------------


def _read(msg: Message) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in msg.DESCRIPTOR.fields:
        value = getattr(msg, field.name)
        if _is_map(field):
            value_field = field.message_type.fields_by_name["value"]
            out[field.name] = {key: _read_value(value_field, item) for key, item in value.items()}
        elif _is_repeated(field):
            out[field.name] = [_read_value(field, item) for item in value]
        elif field.has_presence:
            if msg.HasField(field.name):
                out[field.name] = _read_value(field, value)
        elif field.enum_type is not None and value != 0:
            out[field.name] = _read_value(field, value)
    return out


def _read_value(field: FieldDescriptor, value: Any) -> Any:
    if field.enum_type is not None:
        known = field.enum_type.values_by_number.get(value)
        prefix = _enum_prefix(field.enum_type)
        return known.name.removeprefix(prefix).lower() if known else value
    if field.message_type is None:
        return value
    kind = field.message_type.full_name
    if kind == _TIMESTAMP:
        try:
            return _EPOCH + timedelta(seconds=value.seconds, microseconds=value.nanos // 1000)
        except OverflowError:
            raise InvalidMetadataError(
                f"metadata field '{field.name}' is out of the timestamp range"
            ) from None
    if kind == _SCALAR:
        which = value.WhichOneof("kind")
        return getattr(value, which) if which else None
    if kind in _WRAPPERS:
        inner = _WRAPPERS[kind]
        wrapped = getattr(value, inner)
        return dict(wrapped) if _is_map(value.DESCRIPTOR.fields_by_name[inner]) else list(wrapped)
    return _read(value)


def _unknown_field_path(msg: Message, path: str = "") -> str | None:
    """Dotted path of the first message holding fields this schema does not know, if any."""
    if len(UnknownFieldSet(msg)):
        return path or "(top level)"
    for field, value in msg.ListFields():
        items: list[Message] = []
        if _is_map(field):
            if field.message_type.fields_by_name["value"].message_type is not None:
                items = list(value.values())
        elif field.message_type is not None:
            items = list(value) if _is_repeated(field) else [value]
        for item in items:
            found = _unknown_field_path(item, f"{path}.{field.name}".lstrip("."))
            if found:
                return found
    return None


def parse_proto(data: bytes) -> ModelMetadata:
    """Decode binary protobuf; malformed bytes or unknown fields raise InvalidMetadataError."""
    msg = modelkeep_pb2.ModelMetadata()
    try:
        msg.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise InvalidMetadataError(f"metadata is not valid protobuf: {exc}") from None
    unknown = _unknown_field_path(msg)
    if unknown:
        raise InvalidMetadataError(
            f"metadata protobuf has fields this modelkeep does not know, in '{unknown}'",
            hint="upgrade modelkeep, or check the bytes are a modelkeep ModelMetadata message",
        )
    return metadata_from_data(_read(msg), source="protobuf metadata")

