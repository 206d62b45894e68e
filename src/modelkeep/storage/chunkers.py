"""Where to cut a large file into chunks.

* ``.safetensors`` files are cut at tensor boundaries: the 8-byte length plus the JSON header
  is one chunk, each tensor's bytes another, so a fine-tune that changes 5% of the tensors
  stores about 5% new bytes and a tensor identical in two files is stored once even when the
  headers differ. Runs of tiny tensors (< ``SMALL_TENSOR``) are grouped up to ``GROUP_MAX``;
  a tensor larger than ``TENSOR_SPLIT`` is split further by content-defined chunking.
* Other files of ``CHUNK_THRESHOLD`` bytes or more use FastCDC (``pyfastcdc``, measured
  fastest; see docs/storage.md). Smaller files are stored as one blob.

A truncated or malformed safetensors file is chunked like any other file, with a note saying so;
so is one whose header breaks the input limits (``modelkeep.limits``: nesting deeper than
``MAX_DEPTH``, integers of more than ``MAX_INT_DIGITS`` digits).
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from modelkeep.limits import InputLimitError, load_json

if TYPE_CHECKING:
    from pyfastcdc import FastCDC

CHUNK_THRESHOLD = 4 << 20  # files at least this large are chunked
TENSOR_SPLIT = 64 << 20  # tensors larger than this are split by FastCDC
SMALL_TENSOR = 64 << 10  # consecutive tensors smaller than this share a chunk ...
GROUP_MAX = 1 << 20  # ... up to this size
CDC_AVG, CDC_MIN, CDC_MAX = 1 << 20, 256 << 10, 4 << 20
MAX_HEADER = 100 << 20  # the safetensors reference implementation's own limit

DTYPE_SIZES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4,
    "I64": 8, "U64": 8, "F64": 8, "C64": 8,
}  # fmt: skip


@dataclass(frozen=True)
class Segment:
    """A byte range of the file: one chunk (``cdc=False``) or cut further by FastCDC."""

    offset: int
    length: int
    cdc: bool


@dataclass(frozen=True)
class Plan:
    """How to cut one file: the chunker's name, its segments in order, and an optional note."""

    chunker: str
    segments: tuple[Segment, ...]
    note: str | None = None


@dataclass(frozen=True)
class TensorInfo:
    """One tensor of a safetensors file: dtype, shape and its byte range in the file."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    start: int
    end: int


@dataclass(frozen=True)
class SafetensorsHeader:
    """A parsed, validated safetensors header."""

    header_len: int  # 8 + N: where the data section starts
    tensors: tuple[TensorInfo, ...]  # sorted by start
    metadata: dict[str, str] | None


class MalformedSafetensors(ValueError):
    """The bytes are not a well-formed safetensors file (the message says why)."""


def new_cdc() -> FastCDC:
    """A FastCDC cutter with modelkeep's parameters (instances are not thread-safe)."""
    from pyfastcdc import FastCDC  # 40 ms to import: only files that need it pay for it

    return FastCDC(CDC_AVG, min_size=CDC_MIN, max_size=CDC_MAX)


def is_safetensors(name: str) -> bool:
    """True for a file name with the .safetensors extension."""
    return name.lower().endswith(".safetensors")


def parse_safetensors_header(prefix: bytes, size: int) -> SafetensorsHeader:
    """Parse the header from the file's first bytes (at least 8 + N); raise MalformedSafetensors."""
    if size < 8 or len(prefix) < 8:
        raise MalformedSafetensors("shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", prefix[:8])
    if n > MAX_HEADER or 8 + n > size:
        raise MalformedSafetensors(f"header length {n} does not fit in a {size}-byte file")
    if len(prefix) < 8 + n:
        raise MalformedSafetensors("header is cut short")
    try:
        doc = load_json(bytes(prefix[8 : 8 + n]).decode("utf-8"), max_bytes=None)
    except InputLimitError as exc:
        raise MalformedSafetensors(f"header {exc}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedSafetensors(f"header is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise MalformedSafetensors("header is not a JSON object")
    meta = doc.pop("__metadata__", None)
    if meta is not None and not (isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values())):
        raise MalformedSafetensors("__metadata__ must map strings to strings")
    tensors = sorted((_tensor(name, t, 8 + n, size) for name, t in doc.items()), key=_order)
    for a, b in zip(tensors, tensors[1:], strict=False):
        if b.start < a.end:
            raise MalformedSafetensors(f"tensors {a.name!r} and {b.name!r} overlap")
    return SafetensorsHeader(8 + n, tuple(tensors), meta)


def _order(t: TensorInfo) -> tuple[int, int]:
    return (t.start, t.end)


def _tensor(name: str, t: object, base: int, size: int) -> TensorInfo:
    if not isinstance(t, dict):
        raise MalformedSafetensors(f"tensor {name!r} is not an object")
    dtype, shape, offsets = t.get("dtype"), t.get("shape"), t.get("data_offsets")
    if not (
        isinstance(dtype, str)
        and isinstance(shape, list)
        and all(type(d) is int and d >= 0 for d in shape)
        and isinstance(offsets, list)
        and len(offsets) == 2
        and all(type(o) is int for o in offsets)
        and 0 <= offsets[0] <= offsets[1]
    ):
        raise MalformedSafetensors(f"tensor {name!r} has a bad dtype, shape or data_offsets")
    start, end = base + offsets[0], base + offsets[1]
    if end > size:
        raise MalformedSafetensors(f"tensor {name!r} ends past the end of the file (truncated)")
    item = DTYPE_SIZES.get(dtype)
    if item is not None and math.prod(shape) * item != end - start:
        raise MalformedSafetensors(f"tensor {name!r}: shape and dtype do not match its size")
    return TensorInfo(name, dtype, tuple(shape), start, end)


def read_prefix(fd: int, size: int) -> bytes:
    """The 8-byte length and the header of a would-be safetensors file (bounded read)."""
    head = os.pread(fd, 8, 0)
    if len(head) < 8:
        return head
    (n,) = struct.unpack("<Q", head)
    return head + os.pread(fd, min(n, MAX_HEADER, max(size - 8, 0)), 8)


def plan_file(name: str, fd: int, size: int) -> Plan:
    """The cutting plan for a file of ``size`` bytes open at ``fd``."""
    if is_safetensors(name):
        try:
            header = parse_safetensors_header(read_prefix(fd, size), size)
        except MalformedSafetensors as exc:
            note = f"{name}: not a valid safetensors file ({exc}); stored with generic chunking"
            return Plan("fastcdc", (Segment(0, size, True),), note)
        return Plan("safetensors", tuple(safetensors_segments(header, size)))
    return Plan("fastcdc", (Segment(0, size, True),) if size else ())


def safetensors_segments(header: SafetensorsHeader, size: int) -> list[Segment]:
    """Header, tensors (tiny ones grouped, huge ones CDC-split), gaps and trailing bytes."""
    ranges: list[tuple[int, int]] = [(0, header.header_len)]
    pos = header.header_len
    for t in header.tensors:
        if t.start > pos:
            ranges.append((pos, t.start))  # a hole: not allowed by the spec, kept byte-exact
        if t.end > t.start:
            ranges.append((t.start, t.end))
        pos = max(pos, t.end)
    if size > pos:
        ranges.append((pos, size))
    out: list[Segment] = []
    grouping = False  # is out[-1] a group of tiny tensors that may take more?
    for start, end in ranges:
        n = end - start
        if grouping and n < SMALL_TENSOR and out[-1].length + n <= GROUP_MAX:
            out[-1] = Segment(out[-1].offset, out[-1].length + n, False)
            continue
        out.append(Segment(start, n, n > TENSOR_SPLIT))
        grouping = start > 0 and n < SMALL_TENSOR
    return out
