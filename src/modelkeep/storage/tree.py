"""Trees: a folder as sorted entries path -> (object id, size, mode, kind), stored as a blob.

The tree blob is canonical JSON (sorted keys, no spaces, UTF-8, entries sorted by path), so
the same files give the same tree id on any machine. Modes are normalised like git: 0o755 when
any execute bit is set, else 0o644. ``kind`` is ``blob`` (the file is one object, whose id is
the file id) or ``manifest`` (the object is a file manifest listing chunks; ``file_id`` is the
BLAKE3 of the whole content, the same id the file would have as a single blob).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from modelkeep.errors import InvalidInputError, ModelkeepError
from modelkeep.storage.hashing import Progress, is_object_id
from modelkeep.storage.ingest import Stored, ingest_file
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.paths import check_tree_path
from modelkeep.storage.statcache import StatCache
from modelkeep.storage.walk import SourceFile, scan

TREE_FORMAT = "modelkeep.tree"
Kind = Literal["blob", "manifest"]


@dataclass(frozen=True)
class TreeEntry:
    """One file of a tree. ``oid`` is the object to fetch; ``file_id`` the content's own id."""

    path: str
    oid: str
    size: int
    mode: int
    kind: Kind
    file_id: str = ""

    def __post_init__(self) -> None:
        if not self.file_id:
            object.__setattr__(self, "file_id", self.oid)


@dataclass(frozen=True)
class TreeInfo:
    """The result of adding a path: the tree id, total bytes and number of files."""

    tree_id: str
    size: int
    files: int
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TreeDiff:
    """Paths added, removed, and changed (content or mode) from tree a to tree b, sorted."""

    added: list[str]
    removed: list[str]
    changed: list[str]


def normalize_mode(st_mode: int) -> int:
    """0o755 if any execute bit is set, else 0o644."""
    return 0o755 if st_mode & 0o111 else 0o644


def encode_tree(entries: Sequence[TreeEntry]) -> bytes:
    """The canonical JSON bytes of a tree (entries are sorted; duplicate paths are refused)."""
    rows: list[dict[str, Any]] = []
    for e in sorted(entries, key=lambda e: e.path):
        row: dict[str, Any] = {"path": e.path, "oid": e.oid, "size": e.size, "mode": e.mode}
        row["kind"] = e.kind
        if e.kind == "manifest":
            row["file"] = e.file_id
        rows.append(row)
    paths = [r["path"] for r in rows]
    if len(set(paths)) != len(paths):
        raise InvalidInputError("a tree cannot hold the same path twice")
    doc = {"format": TREE_FORMAT, "version": 1, "entries": rows}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def decode_tree(data: bytes, tree_id: str = "?") -> list[TreeEntry]:
    """Parse and validate tree bytes; anything else is InvalidInputError (not a tree)."""
    try:
        doc = json.loads(data)
        if doc.get("format") != TREE_FORMAT or doc.get("version") != 1:
            raise ValueError("not a modelkeep tree")
        entries = [_entry(row) for row in doc["entries"]]
    except ModelkeepError as exc:
        raise InvalidInputError(f"object {tree_id} is not a valid tree: {exc}", oid=tree_id) from exc
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidInputError(
            f"object {tree_id} is not a tree", hint="pass the id of a tree", oid=tree_id
        ) from exc
    paths = [e.path for e in entries]
    if paths != sorted(set(paths)):
        raise InvalidInputError(f"tree {tree_id} is not canonical (unsorted or duplicate paths)")
    return entries


def _entry(row: dict[str, Any]) -> TreeEntry:
    kind = row["kind"]
    file_id = row.get("file", row["oid"]) if kind == "manifest" else row["oid"]
    ok = (
        kind in ("blob", "manifest")
        and is_object_id(row["oid"])
        and is_object_id(file_id)
        and type(row["size"]) is int
        and row["size"] >= 0
        and row["mode"] in (0o644, 0o755)
    )
    if not ok:
        raise ValueError(f"bad tree entry {row!r}")
    return TreeEntry(check_tree_path(row["path"]), row["oid"], row["size"], row["mode"], kind, file_id)


def read_tree(store: ObjectStore, tree_id: str) -> list[TreeEntry]:
    """The entries of tree ``tree_id``, sorted by path (hash verified on read)."""
    return decode_tree(store.get_bytes(tree_id), tree_id)


def write_tree(store: ObjectStore, entries: Sequence[TreeEntry]) -> str:
    """Store a tree made of ``entries`` and return its id."""
    return store.put_bytes(encode_tree(entries))


def diff_trees(store: ObjectStore, a_tree_id: str, b_tree_id: str) -> TreeDiff:
    """What changed from tree a to tree b, by file id and mode (not by how it is chunked)."""
    a = {e.path: (e.file_id, e.mode) for e in read_tree(store, a_tree_id)}
    b = {e.path: (e.file_id, e.mode) for e in read_tree(store, b_tree_id)}
    return TreeDiff(
        added=sorted(b.keys() - a.keys()),
        removed=sorted(a.keys() - b.keys()),
        changed=sorted(p for p in a.keys() & b.keys() if a[p] != b[p]),
    )


def add_path(
    store: ObjectStore,
    path: Path,
    *,
    progress: Progress | None = None,
    stat_cache: StatCache | None = None,
    exclude: Sequence[str] = (),
) -> TreeInfo:
    """Store a folder (recursively) or a single file and return its tree.

    A single file becomes a one-entry tree named by its basename. Nothing is published unless
    every file was stored: objects are staged in one batch and made durable together.
    """
    files = scan(Path(path), exclude=exclude)
    total = sum(f.st.st_size for f in files)
    counter = _Counter(total, progress)
    with store.batch() as batch, ThreadPoolExecutor(store.workers) as pool:
        stored = list(pool.map(lambda f: ingest_file(batch, f, cache=stat_cache, on_bytes=counter), files))
        entries = [_tree_entry(f, s) for f, s in zip(files, stored, strict=True)]
        tree_id = batch.put_bytes(encode_tree(entries))
    if stat_cache is not None:
        stat_cache.save()
    notes = tuple(s.note for s in stored if s.note)
    return TreeInfo(tree_id, total, len(files), notes)


def _tree_entry(f: SourceFile, s: Stored) -> TreeEntry:
    kind: Kind = "manifest" if s.kind == "manifest" else "blob"
    return TreeEntry(f.rel, s.oid, f.st.st_size, normalize_mode(f.st.st_mode), kind, s.file_id)


class _Counter:
    """Thread-safe byte counter feeding a (done, total) progress callback."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total = total
        self.done = 0
        self._progress = progress
        self._lock = threading.Lock()

    def __call__(self, n: int) -> None:
        if self._progress is None:
            return
        with self._lock:
            self.done += n
            self._progress(self.done, self.total)
