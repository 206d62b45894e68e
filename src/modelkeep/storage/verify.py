"""Whole-file verification: do a file's stored pieces rebuild the file id its tree lists?

Every object is verified against its own id when it is written and read, but a file manifest
or a tree entry is a *claim*: a manifest can name a genuine file id and list other chunks, and
a tree entry can give a size smaller than its blob. Such a claim is checked by rebuilding the
file (hashing its chunks in order); pull, fsck and checkout use the helpers here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from modelkeep.errors import CorruptObjectError, ObjectNotFoundError
from modelkeep.storage.hashing import Hasher
from modelkeep.storage.manifest import FileManifest, read_manifest
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.tree import TreeEntry


def lie(name: str, file_id: str, oid: str) -> CorruptObjectError:
    """The error for a file whose manifest or tree entry describes other bytes than its id."""
    return CorruptObjectError(
        f"{name}: its stored pieces do not rebuild the file the tree lists (id {file_id}); "
        f"object {oid} describes other bytes",
        hint="the version came from a remote that serves other bytes under this id; "
        "check where it came from, then run 'modelkeep fsck'",
        oid=oid,
        file_id=file_id,
        path=name,
    )


def rebuilt_id(store: ObjectStore, chunks: Sequence[tuple[str, int]]) -> tuple[str, bool]:
    """(BLAKE3 of the chunks concatenated, True if every chunk has its listed size), reading
    each chunk once through its own hash: CorruptObjectError (the chunk quarantined) if one is
    corrupt, ObjectNotFoundError if one is missing."""
    whole = Hasher(store.workers)
    sizes_ok = True
    for oid, size in chunks:
        before = whole.size
        for block in store.iter_blocks(oid):
            whole.update(block)
        sizes_ok = sizes_ok and whole.size - before == size
    return whole.hexdigest(), sizes_ok


def check_manifest(store: ObjectStore, manifest: FileManifest, manifest_id: str, name: str) -> None:
    """CorruptObjectError unless the manifest's chunks rebuild the file id it claims."""
    file_id, sizes_ok = rebuilt_id(store, manifest.chunks)
    if file_id != manifest.file_id or not sizes_ok:
        raise lie(name, manifest.file_id, manifest_id)


def entry_problem(store: ObjectStore, entry: TreeEntry, manifest: FileManifest | None) -> bool:
    """True when tree entry ``entry`` disagrees with what it points at (the blob's size, or the
    manifest's file id and size); a missing blob is not this function's business."""
    if entry.kind == "blob":
        try:
            return store.size(entry.oid) != entry.size
        except ObjectNotFoundError:
            return False
    return manifest is not None and (manifest.file_id, manifest.size) != (entry.file_id, entry.size)


def verify_pulled(
    store: ObjectStore,
    trees: dict[str, list[TreeEntry]],
    fetched: set[str],
    refetch: Callable[[dict[str, int | None]], None],
) -> None:
    """Check the files a pull brought: every entry against its blob or manifest, and every
    file whose manifest or chunks were ``fetched`` rebuilt from its chunks in order (a chunk
    found corrupt here is quarantined and fetched again through ``refetch``, once).

    ``trees`` maps each pulled tree to the entries pulled whole. On a lie, the lying manifest or
    tree is removed if this pull brought it, and CorruptObjectError names the file.
    """
    for tree_id, entries in trees.items():
        for e in entries:
            manifest = read_manifest(store, e.oid) if e.kind == "manifest" else None
            if entry_problem(store, e, manifest):
                _drop(store, fetched, [tree_id])
                raise lie(e.path, e.file_id, tree_id)
            if manifest is None or not (fetched & {e.oid, *manifest.chunk_ids}):
                continue
            try:
                try:
                    check_manifest(store, manifest, e.oid, e.path)
                except CorruptObjectError:
                    gone = {oid: n for oid, n in manifest.chunks if not store.has(oid)}
                    if not gone:
                        raise
                    refetch(dict(gone))  # quarantined while being read: fetch a good copy
                    check_manifest(store, manifest, e.oid, e.path)
            except CorruptObjectError as exc:
                if exc.fields.get("file_id") is not None:  # the manifest lies
                    _drop(store, fetched, [e.oid, tree_id])
                raise


def _drop(store: ObjectStore, fetched: set[str], oids: list[str]) -> None:
    """Move the lying objects this pull brought out of the store."""
    for oid in oids:
        if oid in fetched:
            store.quarantine(oid)
