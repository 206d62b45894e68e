"""Partial restore of safetensors files: only the tensors matching some globs, written as a
valid, smaller safetensors file, reading only the chunks that hold those tensors.

The new file keeps the original ``__metadata__``, dtypes and shapes, lays the chosen tensors
out contiguously in their original order, and pads the JSON header with spaces to a multiple
of 8 bytes, as the reference implementation does.
"""

from __future__ import annotations

import fnmatch
import json
import os
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from modelkeep.errors import InvalidInputError
from modelkeep.storage.chunkers import MalformedSafetensors, parse_safetensors_header
from modelkeep.storage.durable import write_all
from modelkeep.storage.objects import ObjectStore

Chunks = Sequence[tuple[str, int]]


@dataclass(frozen=True)
class TensorSelection:
    """The new header and, in order, the source byte ranges of the chosen tensors."""

    header: bytes
    ranges: tuple[tuple[int, int], ...]
    names: tuple[str, ...]

    @property
    def size(self) -> int:
        """Size of the file this selection writes."""
        return len(self.header) + sum(e - s for s, e in self.ranges)


def spans(chunks: Chunks, start: int, end: int) -> Iterator[tuple[str, int, int]]:
    """(chunk id, offset inside the chunk, length) covering file bytes [start, end)."""
    pos = 0
    for oid, size in chunks:
        lo, hi = max(start, pos), min(end, pos + size)
        if lo < hi:
            yield oid, lo - pos, hi - lo
        pos += size
        if pos >= end:
            return


def chunks_for_ranges(chunks: Chunks, ranges: Sequence[tuple[int, int]]) -> set[str]:
    """The chunk ids needed to read the given file byte ranges (what a pull must fetch)."""
    return {oid for s, e in ranges for oid, _, _ in spans(chunks, s, e)}


def read_range(store: ObjectStore, chunks: Chunks, start: int, end: int) -> bytes:
    """File bytes [start, end), reading (and verifying) only the chunks that hold them."""
    return b"".join(store.get_bytes(oid)[off : off + n] for oid, off, n in spans(chunks, start, end))


def select_tensors(
    store: ObjectStore, path: str, chunks: Chunks, size: int, patterns: Sequence[str]
) -> tuple[TensorSelection | None, set[str]]:
    """Plan a partial restore of one safetensors file; returns (selection, patterns used).

    The selection is None when every tensor matches (restore the file as it is) and has no
    ranges when none does. InvalidInputError if the stored file is not valid safetensors.
    """
    prefix = read_range(store, chunks, 0, min(8, size))
    if len(prefix) == 8:
        (n,) = struct.unpack("<Q", prefix)
        prefix += read_range(store, chunks, 8, min(size, 8 + n))
    try:
        header = parse_safetensors_header(prefix, size)
    except MalformedSafetensors as exc:
        raise InvalidInputError(
            f"cannot select tensors of {path}: {exc}",
            hint="restore the whole file (without tensor patterns)",
            path=path,
        ) from exc
    used: set[str] = set()
    chosen = []
    for t in header.tensors:
        hits = [p for p in patterns if fnmatch.fnmatchcase(t.name, p)]
        if hits:
            chosen.append(t)
            used.update(hits)
    if len(chosen) == len(header.tensors):
        return None, used
    doc: dict[str, object] = {}
    if header.metadata is not None:
        doc["__metadata__"] = header.metadata
    pos = 0
    for t in chosen:
        doc[t.name] = {"dtype": t.dtype, "shape": list(t.shape), "data_offsets": [pos, pos + t.end - t.start]}
        pos += t.end - t.start
    raw = json.dumps(doc, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    new_header = struct.pack("<Q", len(raw)) + raw
    ranges = tuple((t.start, t.end) for t in chosen)
    return TensorSelection(new_header, ranges, tuple(t.name for t in chosen)), used


def write_selection(
    store: ObjectStore, chunks: Chunks, sel: TensorSelection, fd_out: int, *, verify: bool
) -> int:
    """Write the selected tensors as a safetensors file to ``fd_out``; returns bytes written.

    Without ``verify`` the tensor bytes move with in-kernel copies from the chunk files; with
    it every chunk read is verified against its id first.
    """
    write_all(fd_out, sel.header)
    for start, end in sel.ranges:
        for oid, off, n in spans(chunks, start, end):
            if verify:
                write_all(fd_out, store.get_bytes(oid)[off : off + n])
                continue
            fd_in = os.open(store.object_path(oid), os.O_RDONLY)
            try:
                done = 0
                while done < n:
                    step = os.copy_file_range(fd_in, fd_out, n - done, off + done)
                    if step == 0:
                        raise store.corrupt(oid)
                    done += step
            finally:
                os.close(fd_in)
    return sel.size
