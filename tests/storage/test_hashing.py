import hashlib
import os
from pathlib import Path

import pytest
from blake3 import blake3
from hypothesis import given
from hypothesis import strategies as st

from modelkeep.errors import InvalidInputError
from modelkeep.storage.hashing import (
    check_object_id,
    hash_bytes,
    hash_chunks,
    hash_file,
    is_object_id,
    sha256_file,
)


@given(st.binary(max_size=5000), st.integers(min_value=1, max_value=4))
def test_hash_bytes_is_blake3_whatever_the_threads(data: bytes, threads: int) -> None:
    assert hash_bytes(data, threads=threads) == blake3(data).hexdigest()


@given(st.lists(st.binary(max_size=300), max_size=8))
def test_hash_chunks_equals_hash_of_concatenation(parts: list[bytes]) -> None:
    assert hash_chunks(parts) == hash_bytes(b"".join(parts))


def test_hash_file_streams_large_files(tmp_path: Path) -> None:
    data = os.urandom((8 << 20) * 2 + 123)  # crosses two block boundaries
    f = tmp_path / "big"
    f.write_bytes(data)
    seen: list[tuple[int, int]] = []
    assert hash_file(f, progress=lambda d, t: seen.append((d, t))) == blake3(data).hexdigest()
    assert seen[-1] == (len(data), len(data))
    assert sha256_file(f) == hashlib.sha256(data).hexdigest()


def test_empty_file(tmp_path: Path) -> None:
    f = tmp_path / "empty"
    f.write_bytes(b"")
    assert hash_file(f) == hash_bytes(b"")


@pytest.mark.parametrize(
    "bad", ["", "abc", "A" * 64, "g" * 64, "0" * 63, "0" * 65, "../" + "0" * 61, None, 5]
)
def test_malformed_ids_are_rejected(bad: object) -> None:
    assert not is_object_id(bad)
    with pytest.raises(InvalidInputError):
        check_object_id(bad)


def test_well_formed_id() -> None:
    oid = hash_bytes(b"x")
    assert is_object_id(oid) and check_object_id(oid) == oid
