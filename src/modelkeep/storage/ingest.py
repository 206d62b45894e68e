"""Store one source file: as a single blob, or (large files) as chunks plus a file manifest."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from modelkeep.storage.batch import WriteBatch, check_unchanged
from modelkeep.storage.chunkers import CHUNK_THRESHOLD
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.statcache import StatCache, Stored
from modelkeep.storage.walk import SourceFile


def is_chunked(size: int) -> bool:
    """True when a file of ``size`` bytes is stored as chunks plus a manifest."""
    return size >= CHUNK_THRESHOLD


def ingest_file(
    batch: WriteBatch,
    src: SourceFile,
    *,
    workers: int,
    cache: StatCache | None = None,
    sha256: bool = False,
    on_bytes: Callable[[int], None] | None = None,
) -> Stored:
    """Store ``src`` and say how it is stored; remember its ids in ``cache``.

    FileChangedError if the file is not what the scan saw or changes while being read.
    """
    started = time.time_ns()
    if is_chunked(src.st.st_size):
        # imported here: chunked loads concurrent.futures, which small files never need
        from modelkeep.storage.chunked import store_chunked

        oid, manifest, note = store_chunked(
            batch, src.os_path, src.st, workers=workers, sha256=sha256, on_bytes=on_bytes
        )
        stored = Stored(oid, "manifest", manifest.file_id, note)
    else:
        oid = batch.put_file(src.os_path, progress=_delta(on_bytes))
        check_unchanged(src.os_path, src.st, os.stat(src.os_path), src.st.st_size)
        stored = Stored(oid, "blob", oid)
    if cache is not None:
        cache.record(
            src.os_path, src.st, stored.file_id, oid=stored.oid, kind=stored.kind, hashed_at_ns=started
        )
    return stored


def known(store: ObjectStore, cache: StatCache, files: list[SourceFile]) -> dict[str, Stored]:
    """Files the stat cache knows unchanged and whose object is still in the store, by tree path.

    Each object reused is freshened (mtime set to now, one utime per object: 0.12 s for 50,000),
    which also proves it present, so gc's grace period protects it until the new tree is recorded.
    """
    lookup = cache.lookup
    hits = {f.rel: hit for f in files if (hit := lookup(f.os_path, f.st)) is not None}
    freshen = store.freshen
    present = {oid for oid in {h.oid for h in hits.values()} if freshen(oid)}
    return {rel: h for rel, h in hits.items() if h.oid in present}


def _delta(on_bytes: Callable[[int], None] | None) -> Callable[[int, int], None] | None:
    """Turn a running (done, total) progress into increments for ``on_bytes``."""
    if on_bytes is None:
        return None
    last = 0

    def progress(done: int, total: int) -> None:
        nonlocal last
        on_bytes(done - last)
        last = done

    return progress
