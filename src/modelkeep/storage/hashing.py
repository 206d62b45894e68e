"""Content hashing: BLAKE3-256 ids for every object, SHA-256 on demand (Git LFS, the Hub).

Object ids are lowercase hex BLAKE3-256 digests. Files are hashed as streams in fixed-size
blocks, so memory stays bounded whatever the file size; large blocks are hashed with several
threads (BLAKE3 splits one ``update`` across cores).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Protocol

from blake3 import blake3

from modelkeep.errors import InvalidInputError

ID_LENGTH = 64
BLOCK_SIZE = 8 << 20  # bytes read per system call when streaming a file
_THREADED_MIN = 1 << 20  # below this, one thread is faster than spreading the work
_ID_RE = re.compile(r"[0-9a-f]{64}")

Progress = Callable[[int, int], None]
Buffer = bytes | bytearray | memoryview


def is_object_id(value: object) -> bool:
    """True for a well-formed object id: 64 lowercase hex digits."""
    return isinstance(value, str) and _ID_RE.fullmatch(value) is not None


def check_object_id(value: object) -> str:
    """Return ``value`` if it is a well-formed object id, else raise InvalidInputError."""
    if not is_object_id(value):
        raise InvalidInputError(
            f"not an object id: {value!r} (expected {ID_LENGTH} lowercase hex digits)",
            oid=str(value),
        )
    return str(value)


class Hasher:
    """An incremental BLAKE3 hasher that uses several threads for large updates."""

    def __init__(self, threads: int = 2) -> None:
        self._threads = max(1, threads)
        self._h = blake3(max_threads=self._threads)
        self.size = 0

    def update(self, data: Buffer) -> None:
        """Feed the next bytes of the content."""
        self._h.update(data)
        self.size += len(data)

    def hexdigest(self) -> str:
        """The object id of everything fed so far."""
        return self._h.hexdigest()


def hash_bytes(data: Buffer, *, threads: int = 1) -> str:
    """The object id of ``data``."""
    n = threads if len(data) >= _THREADED_MIN else 1
    return blake3(data, max_threads=max(1, n)).hexdigest()


def hash_chunks(chunks: Iterable[Buffer]) -> str:
    """The object id of the concatenation of ``chunks`` (e.g. a file rebuilt from its chunks)."""
    h = blake3()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


class ReadInto(Protocol):
    """An unbuffered binary file: what ``iter_blocks`` reads from."""

    def readinto(self, buffer: bytearray, /) -> int | None: ...

    def fileno(self) -> int: ...


def read_blocks(path: Path, block_size: int = BLOCK_SIZE) -> Iterator[memoryview]:
    """Yield a file's content as views on one reused buffer (valid until the next block)."""
    with open(path, "rb", buffering=0) as f:
        yield from iter_blocks(f, os.fstat(f.fileno()).st_size, block_size)


def iter_blocks(f: ReadInto, size_hint: int, block_size: int = BLOCK_SIZE) -> Iterator[memoryview]:
    """Read an open unbuffered file to its end in blocks, into a buffer sized for small files."""
    buf = bytearray(min(block_size, size_hint + 1))
    view = memoryview(buf)
    while n := f.readinto(buf):
        yield view[:n]


def hash_file(path: Path, *, threads: int = 2, progress: Progress | None = None) -> str:
    """The object id of a file's content, streamed (memory use is one block)."""
    total = path.stat().st_size
    h = Hasher(threads)
    for block in read_blocks(path):
        h.update(block)
        if progress is not None:
            progress(h.size, total)
    return h.hexdigest()


def sha256_file(path: Path, *, progress: Progress | None = None) -> str:
    """The SHA-256 hex digest of a file (what Git LFS and the Hugging Face Hub key files by)."""
    import hashlib  # OpenSSL's, loaded only when a SHA-256 is asked for

    total = path.stat().st_size
    h = hashlib.sha256()
    done = 0
    for block in read_blocks(path):
        h.update(block)
        done += len(block)
        if progress is not None:
            progress(done, total)
    return h.hexdigest()
