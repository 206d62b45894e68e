"""Store one source file: as a single blob, or (large files) as chunks plus a file manifest."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from modelkeep.storage.batch import WriteBatch, check_unchanged
from modelkeep.storage.statcache import StatCache
from modelkeep.storage.walk import SourceFile


@dataclass(frozen=True)
class Stored:
    """How a file was stored: the object to fetch (blob or manifest) and the file's own id."""

    oid: str
    kind: str
    file_id: str
    note: str | None = None


def ingest_file(
    batch: WriteBatch,
    src: SourceFile,
    *,
    cache: StatCache | None,
    on_bytes: Callable[[int], None] | None = None,
) -> Stored:
    """Store ``src`` (or find it unchanged in the stat cache) and say how it is stored."""
    if cache is not None:
        hit = cache.lookup(src.path, src.st)
        if hit is not None and batch.has(hit.oid):
            if on_bytes is not None:
                on_bytes(src.st.st_size)
            return Stored(hit.oid, hit.kind, hit.file_id)
    started = time.time_ns()
    last = 0

    def progress(done: int, total: int) -> None:
        nonlocal last
        if on_bytes is not None:
            on_bytes(done - last)
        last = done

    oid = batch.put_file(src.path, progress=progress)
    check_unchanged(src.path, src.st, src.path.stat(), src.st.st_size)
    stored = Stored(oid, "blob", oid)
    if cache is not None:
        cache.record(src.path, src.st, stored.file_id, oid=stored.oid, kind=stored.kind, hashed_at_ns=started)
    return stored
