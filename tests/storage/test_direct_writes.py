"""Large chunks go to disk with O_DIRECT (durable.write_direct): exact bytes and sizes, and the
page cache is used instead wherever the filesystem or the kernel refuses a direct write."""

from __future__ import annotations

import errno
import mmap
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from blake3 import blake3
from safetensors.numpy import save_file

from modelkeep.storage import batch, durable
from modelkeep.storage.manifest import read_manifest
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.tree import add_path, read_tree


def takes_direct(folder: Path) -> bool:
    """True when ``folder``'s filesystem opens files with O_DIRECT."""
    fd, direct = durable.open_direct(folder / "probe", os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    os.unlink(folder / "probe")
    return direct


def unaligned_model(path: Path) -> bytes:
    """Tensors of 1.2-2.4 MB, none a whole number of pages, behind a header of odd length."""
    rng = np.random.default_rng(7)
    tensors = {f"t{i}": rng.integers(0, 255, size=(300_001 + 97 * i,), dtype=np.int32)
               for i in range(4)}
    tensors["tiny"] = np.arange(3, dtype=np.int8)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path))
    return path.read_bytes()


def check_stored(store: ObjectStore, path: Path, data: bytes, tree_id: str) -> None:
    (entry,) = read_tree(store, tree_id)
    manifest = read_manifest(store, entry.oid)
    rebuilt = b"".join(store.get_bytes(oid) for oid in manifest.chunk_ids)  # each verified
    assert rebuilt == data and entry.file_id == blake3(data).hexdigest()
    for oid, size in manifest.chunks:
        assert store.size(oid) == size  # the page padding was cut off


def counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sizes: list[int] = []
    real = batch.write_direct

    def spy(fd: int, padded: memoryview, size: int) -> None:
        sizes.append(size)
        real(fd, padded, size)

    monkeypatch.setattr(batch, "write_direct", spy)
    return sizes


def test_large_chunks_are_written_direct(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ObjectStore(tmp_path / "k" / "objects", tmp_path / "k" / "tmp")
    src = tmp_path / "src" / "m.safetensors"
    data = unaligned_model(src)
    sizes = counting(monkeypatch)
    tree = add_path(store, src.parent)
    check_stored(store, src, data, tree.tree_id)
    big = [n for n in (1_200_004 + 388 * i for i in range(4))]
    assert sorted(sizes) == (big if takes_direct(store.tmp_dir) else [])


def test_a_filesystem_refusing_o_direct_gets_the_page_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open
    refused: list[str] = []

    def no_direct(path: Any, flags: int, *args: Any, **kw: Any) -> int:
        if flags & os.O_DIRECT:
            refused.append(str(path))
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *args, **kw)

    monkeypatch.setattr(durable.os, "open", no_direct)
    sizes = counting(monkeypatch)
    store = ObjectStore(tmp_path / "k" / "objects", tmp_path / "k" / "tmp", workers=1)
    src = tmp_path / "src" / "m.safetensors"
    data = unaligned_model(src)
    check_stored(store, src, data, add_path(store, src.parent).tree_id)
    assert sizes == [] and len(refused) == 1  # asked once per batch, then not again


@pytest.mark.parametrize("size", [1, 4095, 4096, 4097, 3 * 4096 + 5])
def test_write_direct_writes_exactly_size_bytes(tmp_path: Path, size: int) -> None:
    buf = mmap.mmap(-1, durable.page_round(size))
    payload = os.urandom(size)
    buf[:size] = payload
    buf[size:] = b"\xff" * (len(buf) - size)  # padding that must not survive
    fd, _ = durable.open_direct(tmp_path / "obj", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    try:
        with memoryview(buf) as view:
            durable.write_direct(fd, view, size)
    finally:
        os.close(fd)
    assert (tmp_path / "obj").read_bytes() == payload


def test_write_direct_takes_the_page_cache_when_the_kernel_refuses(tmp_path: Path) -> None:
    payload = os.urandom(3 * 4096 + 11)
    odd = bytearray(b"x" + payload + b"\0" * 4096)  # one byte off: never page-aligned
    fd, _ = durable.open_direct(tmp_path / "obj", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    try:
        with memoryview(odd)[1 : 1 + durable.page_round(len(payload))] as view:
            durable.write_direct(fd, view, len(payload))
    finally:
        os.close(fd)
    assert (tmp_path / "obj").read_bytes() == payload
