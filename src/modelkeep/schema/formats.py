"""Read and write metadata in any of the three formats, chosen by name or by file suffix.

=========  ===========================  ==============================================
format     suffixes                     notes
=========  ===========================  ==============================================
``json``   ``.json``                    canonical: sorted keys, NaN as ``"NaN"``
``yaml``   ``.yaml``, ``.yml``          comments survive ``save_metadata`` on a file
``proto``  ``.pb``, ``.binpb``          binary ``modelkeep.metadata.v1.ModelMetadata``
=========  ===========================  ==============================================
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, get_args

from modelkeep.errors import InvalidMetadataError, PathNotFoundError
from modelkeep.limits import MAX_DOCUMENT_BYTES, InputLimitError, check_size
from modelkeep.schema.jsonio import dump_json, parse_json
from modelkeep.schema.metadata import ModelMetadata
from modelkeep.schema.protoio import dump_proto, parse_proto
from modelkeep.schema.validation import LIMITS_HINT
from modelkeep.schema.yamlio import dump_yaml, parse_yaml, update_yaml

MetadataFormat = Literal["json", "yaml", "proto"]
FORMATS: tuple[str, ...] = get_args(MetadataFormat)
SUFFIXES: dict[str, MetadataFormat] = {
    ".json": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".pb": "proto",
    ".binpb": "proto",
}
_DUMPERS: dict[str, Callable[[ModelMetadata], bytes]] = {
    "json": dump_json,
    "yaml": dump_yaml,
    "proto": dump_proto,
}
_PARSERS: dict[str, Callable[[bytes], ModelMetadata]] = {
    "json": parse_json,
    "yaml": parse_yaml,
    "proto": parse_proto,
}


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InvalidMetadataError(
            f"unknown metadata format {fmt!r}: use one of {', '.join(FORMATS)}", format=fmt
        )


def format_for_path(path: Path) -> MetadataFormat:
    """The metadata format a file's suffix names; an unknown suffix raises."""
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise InvalidMetadataError(
            f"cannot tell the metadata format of '{path.name}' from its suffix",
            hint=f"name the file with one of {', '.join(SUFFIXES)}",
            path=str(path),
        )
    return fmt


def dump_metadata(meta: ModelMetadata, fmt: MetadataFormat) -> bytes:
    """The model encoded as ``fmt``; equal models always give identical bytes."""
    _check_format(fmt)
    return _DUMPERS[fmt](meta)


def _check_size(size: int) -> None:
    try:
        check_size(size, MAX_DOCUMENT_BYTES)
    except InputLimitError as exc:
        raise InvalidMetadataError(f"metadata {exc}", hint=LIMITS_HINT) from None


def parse_metadata(data: bytes, fmt: MetadataFormat) -> ModelMetadata:
    """Decode and validate metadata bytes; anything wrong raises InvalidMetadataError.

    Documents over ``limits.MAX_DOCUMENT_BYTES`` are refused before they are parsed.
    """
    _check_format(fmt)
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidMetadataError(f"metadata must be given as bytes, not {type(data).__name__}")
    _check_size(len(data))
    return _PARSERS[fmt](bytes(data))


def _read(path: Path) -> bytes:
    """The file's bytes; one over the size limit is refused without reading it all."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_DOCUMENT_BYTES + 1)
        _check_size(os.path.getsize(path) if len(data) > MAX_DOCUMENT_BYTES else len(data))
        return data
    except FileNotFoundError:
        raise PathNotFoundError(f"no metadata file at '{path}'", path=str(path)) from None
    except IsADirectoryError:
        raise InvalidMetadataError(f"'{path}' is a folder, not a metadata file") from None


def load_metadata(path: Path) -> ModelMetadata:
    """Read a metadata file, its format chosen by suffix (see ``SUFFIXES``)."""
    path = Path(path)
    fmt = format_for_path(path)
    try:
        return parse_metadata(_read(path), fmt)
    except InvalidMetadataError as exc:
        raise InvalidMetadataError(
            f"{path.name}: {exc.message}", hint=exc.hint, **{**exc.fields, "path": str(path)}
        ) from None


def _write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, fsync, then rename: never a partial file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def update_yaml_file(path: Path, meta: ModelMetadata) -> None:
    """Rewrite an existing YAML metadata file to hold ``meta``, keeping its comments."""
    path = Path(path)
    _write_atomic(path, update_yaml(_read(path), meta))


def save_metadata(meta: ModelMetadata, path: Path) -> None:
    """Write metadata to a file in the format its suffix names, atomically.

    An existing YAML file is updated in place (see ``update_yaml_file``), so its comments and
    layout survive; any other file is written whole.
    """
    path = Path(path)
    fmt = format_for_path(path)
    if fmt == "yaml" and path.is_file():
        update_yaml_file(path, meta)
    else:
        _write_atomic(path, dump_metadata(meta, fmt))


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) every metadata document follows, for ``modelkeep schema``."""
    schema = ModelMetadata.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
