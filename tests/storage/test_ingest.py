"""Files that change while modelkeep reads them are refused, and nothing is published."""

import os
import threading
import time
from pathlib import Path

import pytest

from modelkeep.errors import FileChangedError, InvalidInputError, PathNotFoundError
from modelkeep.storage.chunkers import CHUNK_THRESHOLD
from modelkeep.storage.ingest import ingest_file, is_chunked
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.walk import scan


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return ObjectStore(tmp_path / "k" / "objects", tmp_path / "k" / "tmp")


@pytest.mark.parametrize("size", [100, CHUNK_THRESHOLD + 100])
def test_changed_between_scan_and_read(store: ObjectStore, tmp_path: Path, size: int) -> None:
    f = tmp_path / "f.bin"
    f.write_bytes(b"a" * size)
    (src,) = scan(f)
    time.sleep(0.01)
    f.write_bytes(b"b" * (size + 1))  # rewritten after the scan
    with pytest.raises(FileChangedError) as err, store.batch() as batch:
        ingest_file(batch, src, workers=2)
    assert err.value.code == "file_changed" and err.value.fields["path"] == str(f)
    assert list(store.iter_ids()) == [] and list(store.tmp_dir.iterdir()) == []


def test_truncated_while_read(store: ObjectStore, tmp_path: Path) -> None:
    f = tmp_path / "big.bin"
    f.write_bytes(os.urandom(CHUNK_THRESHOLD * 8))
    (src,) = scan(f)
    assert is_chunked(src.st.st_size)
    stop = threading.Event()

    def truncate() -> None:
        while not stop.is_set():
            os.truncate(f, CHUNK_THRESHOLD)
            time.sleep(0.001)

    t = threading.Thread(target=truncate)
    t.start()
    try:
        with pytest.raises(FileChangedError), store.batch() as batch:
            ingest_file(batch, src, workers=2)
    finally:
        stop.set()
        t.join()
    assert list(store.iter_ids()) == [] and list(store.tmp_dir.iterdir()) == []


def test_unreadable_or_vanished_source_is_a_clear_error(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="cannot read"):
        store.put_file(tmp_path)  # a folder, not a file
    with pytest.raises(PathNotFoundError):
        store.put_file(tmp_path / "gone")
