import contextlib
import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.numpy import save_file

from modelkeep.limits import MAX_DEPTH
from modelkeep.storage import chunkers
from modelkeep.storage.chunkers import (
    MalformedSafetensors,
    Segment,
    parse_safetensors_header,
    plan_file,
    read_prefix,
)


def st_bytes(header: dict, data: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def plan_of(path: Path):  # type: ignore[no-untyped-def]
    fd = os.open(path, os.O_RDONLY)
    try:
        return plan_file(path.name, fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)


def test_safetensors_cut_at_tensor_boundaries(tmp_path: Path) -> None:
    f = tmp_path / "m.safetensors"
    tensors = {f"w{i}": np.full((300, 300), i, dtype=np.float32) for i in range(4)}
    save_file(tensors, str(f))
    plan = plan_of(f)
    assert plan.chunker == "safetensors" and plan.note is None
    header = parse_safetensors_header(f.read_bytes(), f.stat().st_size)
    assert plan.segments[0] == Segment(0, header.header_len, False)
    assert [(s.offset, s.offset + s.length) for s in plan.segments[1:]] == [
        (t.start, t.end) for t in header.tensors
    ]
    assert sum(s.length for s in plan.segments) == f.stat().st_size


def test_tiny_tensors_are_grouped_and_huge_ones_split(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chunkers, "TENSOR_SPLIT", 1000)
    monkeypatch.setattr(chunkers, "SMALL_TENSOR", 100)
    hdr = {
        "a": {"dtype": "U8", "shape": [10], "data_offsets": [0, 10]},
        "b": {"dtype": "U8", "shape": [20], "data_offsets": [10, 30]},
        "big": {"dtype": "U8", "shape": [5000], "data_offsets": [30, 5030]},
        "c": {"dtype": "U8", "shape": [5], "data_offsets": [5030, 5035]},
    }
    raw = st_bytes(hdr, bytes(5035))
    h = parse_safetensors_header(raw, len(raw))
    segs = chunkers.safetensors_segments(h, len(raw))
    n = h.header_len
    assert segs == [
        Segment(0, n, False),
        Segment(n, 30, False),  # a + b share a chunk
        Segment(n + 30, 5000, True),  # big: split by content-defined chunking
        Segment(n + 5030, 5, False),
    ]


@pytest.mark.parametrize(
    "raw, why",
    [
        (b"\x01\x00", "shorter"),
        (struct.pack("<Q", 1000) + b"{}", "does not fit"),
        (struct.pack("<Q", 3) + b"abc", "not JSON"),
        (st_bytes([]), "not a JSON object"),  # type: ignore[arg-type]
        (st_bytes({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"1234"), "truncated"),
        (st_bytes({"t": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, bytes(8)), "shape"),
        (st_bytes({"t": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}, bytes(8)), "bad"),
        (st_bytes({"t": [1]}), "not an object"),
        (st_bytes({"__metadata__": {"a": 1}}), "__metadata__"),
        (
            st_bytes(
                {
                    "x": {"dtype": "U8", "shape": [8], "data_offsets": [0, 8]},
                    "y": {"dtype": "U8", "shape": [4], "data_offsets": [4, 8]},
                },
                bytes(8),
            ),
            "overlap",
        ),
    ],
)
def test_malformed_headers(raw: bytes, why: str) -> None:
    with pytest.raises(MalformedSafetensors, match=why):
        parse_safetensors_header(raw, len(raw))


def test_malformed_safetensors_falls_back_with_a_note(tmp_path: Path) -> None:
    f = tmp_path / "broken.safetensors"
    f.write_bytes(st_bytes({"t": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}}, bytes(100)))
    plan = plan_of(f)
    assert plan.chunker == "fastcdc" and "broken.safetensors" in (plan.note or "")
    assert plan.segments == (Segment(0, f.stat().st_size, True),)


def test_unknown_dtypes_are_accepted_and_holes_kept(tmp_path: Path) -> None:
    raw = st_bytes({"t": {"dtype": "NEW", "shape": [3], "data_offsets": [4, 7]}}, b"hole+t+trailer")
    h = parse_safetensors_header(raw, len(raw))
    segs = chunkers.safetensors_segments(h, len(raw))
    assert sum(s.length for s in segs) == len(raw)  # every byte is in exactly one segment
    assert [s.offset for s in segs] == sorted(s.offset for s in segs)


def test_read_prefix_is_bounded(tmp_path: Path) -> None:
    f = tmp_path / "x"
    f.write_bytes(struct.pack("<Q", 1 << 62) + b"abc")
    fd = os.open(f, os.O_RDONLY)
    try:
        assert read_prefix(fd, 11) == f.read_bytes()
    finally:
        os.close(fd)


@settings(max_examples=25, deadline=None)
@given(st.binary(min_size=0, max_size=3000))
def test_parser_never_crashes(raw: bytes) -> None:
    with contextlib.suppress(MalformedSafetensors):
        parse_safetensors_header(raw, len(raw))


def test_generic_files_are_cdc(tmp_path: Path) -> None:
    f = tmp_path / "model.bin"
    f.write_bytes(b"x" * 100)
    assert plan_of(f).segments == (Segment(0, 100, True),)
    (tmp_path / "empty.bin").write_bytes(b"")
    assert plan_of(tmp_path / "empty.bin").segments == ()


def deep_header(depth: int, data: bytes = b"") -> bytes:
    raw = b'{"t": ' + b"[" * depth + b"]" * depth + b"}"
    return struct.pack("<Q", len(raw)) + raw + data


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_a_deeply_nested_header_is_malformed_not_a_crash(depth: int) -> None:
    raw = deep_header(depth)
    with pytest.raises(MalformedSafetensors, match="nested more than"):
        parse_safetensors_header(raw, len(raw))


def test_a_deeply_nested_header_falls_back_to_generic_chunking(tmp_path: Path) -> None:
    f = tmp_path / "deep.safetensors"
    f.write_bytes(deep_header(100_000, bytes(range(256)) * 100))
    plan = plan_of(f)
    assert plan.chunker == "fastcdc" and "deep.safetensors" in (plan.note or "")
    assert "nested" in (plan.note or "")
