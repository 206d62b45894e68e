"""Git LFS: write LFS pointer files and objects from a tree; build a tree from an LFS checkout.

A Git LFS pointer (spec v1) is three lines, ``version https://git-lfs.github.com/spec/v1``,
``oid sha256:<hex>``, ``size <n>``; the object lives in ``.git/lfs/objects/ab/cd/<sha256>``.
Export computes each file's SHA-256 while copying it out (and keeps it: manifest or
``Sha256Index``); import checks each LFS object's SHA-256 and size before storing anything of it.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from modelkeep.errors import CorruptObjectError, InvalidInputError, ObjectNotFoundError
from modelkeep.storage.durable import storage_errors, unlink_quietly, write_file_atomic
from modelkeep.storage.gitattributes import ATTRIBUTES_FILE, is_git_file, write_git_files
from modelkeep.storage.hashing import Progress, sha256_file
from modelkeep.storage.ingest import ingest_file, is_chunked
from modelkeep.storage.manifest import read_manifest
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.paths import safe_join
from modelkeep.storage.sha256index import Sha256Index
from modelkeep.storage.tree import TreeEntry, encode_tree, normalize_mode, read_tree
from modelkeep.storage.walk import SourceFile, scan

LFS_VERSION = "https://git-lfs.github.com/spec/v1"
MAX_LFS_POINTER = 1024  # the spec: pointer files are smaller than this
_POINTER = re.compile(
    rb"version https://git-lfs\.github\.com/spec/v1\noid sha256:([0-9a-f]{64})\n"
    rb"size (0|[1-9][0-9]*)\n(?:[a-z0-9.-]+ [^\n]*\n)*"
)


@dataclass(frozen=True)
class LfsPointer:
    """What a Git LFS pointer file says: the content's SHA-256 and size."""

    sha256: str
    size: int

    def encode(self) -> bytes:
        """The canonical pointer file bytes."""
        return f"version {LFS_VERSION}\noid sha256:{self.sha256}\nsize {self.size}\n".encode()


@dataclass(frozen=True)
class LfsReport:
    """What export-lfs or import-lfs did."""

    files: int = 0
    lfs_files: int = 0
    objects_written: int = 0
    bytes: int = 0
    tree_id: str | None = None
    version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_lfs_pointer(data: bytes) -> LfsPointer | None:
    """The pointer in ``data``, or None when ``data`` is not a Git LFS pointer file."""
    if len(data) >= MAX_LFS_POINTER:
        return None
    m = _POINTER.fullmatch(data)
    return LfsPointer(m.group(1).decode(), int(m.group(2))) if m else None


def lfs_object_path(objects_dir: Path, sha256: str) -> Path:
    """``objects/ab/cd/abcd…``: where Git LFS keeps the object with this SHA-256."""
    return Path(objects_dir) / sha256[:2] / sha256[2:4] / sha256


def find_lfs_objects(start: Path) -> Path | None:
    """``<git dir>/lfs/objects`` of the Git repository holding ``start``, or None."""
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        dotgit = folder / ".git"
        if dotgit.is_dir():
            return dotgit / "lfs" / "objects"
        if dotgit.is_file():  # worktrees and submodules: "gitdir: PATH"
            text = dotgit.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("gitdir:"):
                gitdir = (folder / text.removeprefix("gitdir:").strip()).resolve()
                return gitdir / "lfs" / "objects"
    return None


def lfs_objects_for(where: Path, objects: Path | str | None) -> Path:
    """The LFS object folder to use: ``objects`` when given, else the one of ``where``'s repo."""
    if objects is not None:
        return Path(objects)
    found = find_lfs_objects(where)
    if found is None:
        raise InvalidInputError(
            f"{where} is not inside a Git repository, so there is no .git/lfs/objects folder",
            hint="run 'git init' there, or pass --objects DIR",
            path=str(where),
        )
    return found


# -- export ---------------------------------------------------------------------------------------


def _content(store: ObjectStore, e: TreeEntry) -> Iterator[memoryview]:
    if e.kind == "blob":
        yield from store.iter_blocks(e.oid)
        return
    for oid in read_manifest(store, e.oid).chunk_ids:
        yield from store.iter_blocks(oid)


def known_sha256(store: ObjectStore, e: TreeEntry, index: Sha256Index) -> str | None:
    """The SHA-256 of a tree entry's file if it was ever computed (manifest or index)."""
    if e.kind == "manifest":
        sha = read_manifest(store, e.oid).sha256
        if sha:
            return sha
    return index.get(e.file_id)


def file_sha256s(store: ObjectStore, tree_id: str, index: Sha256Index) -> dict[str, str]:
    """path -> SHA-256 of every file of a tree, computing (and keeping) the ones not yet known."""
    out: dict[str, str] = {}
    for e in read_tree(store, tree_id):
        sha = known_sha256(store, e, index)
        if sha is None:
            h = hashlib.sha256()
            for block in _content(store, e):
                h.update(block)
            sha = h.hexdigest()
        index.put(e.file_id, sha)
        out[e.path] = sha
    return out


def export_lfs(
    store: ObjectStore,
    tree_id: str,
    dest: Path,
    objects_dir: Path,
    index: Sha256Index,
    *,
    progress: Progress | None = None,
) -> LfsReport:
    """Write an LFS pointer in ``dest`` for every file of the tree, its object in
    ``objects_dir``, and the ``.gitattributes`` lines that make Git LFS handle them.

    The files git reads itself (the version's own ``.gitattributes`` ...) are written as they
    are, never as pointers; modelkeep's lines are merged into the ``.gitattributes`` files."""
    entries = read_tree(store, tree_id)
    dest = Path(dest)
    with storage_errors(dest):
        dest.mkdir(parents=True, exist_ok=True)
        Path(objects_dir).mkdir(parents=True, exist_ok=True)
    dest_real = Path(os.path.realpath(dest))
    targets = [(e, safe_join(dest_real, e.path)) for e in entries]
    lfs = [(e, t) for e, t in targets if not is_git_file(e.path)]
    own = {e.path: (_read_small(store, e), t) for e, t in targets if is_git_file(e.path)}
    _refuse_replacing(lfs, own)  # before writing anything
    total = sum(e.size for e in entries)
    written = done = 0
    for e, target in lfs:
        sha = known_sha256(store, e, index)
        if sha is None or not lfs_object_path(objects_dir, sha).is_file():
            sha = _write_object(store, e, Path(objects_dir))
            written += 1
            index.put(e.file_id, sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomic(target, LfsPointer(sha, e.size).encode(), durable=False)
        done += e.size
        if progress is not None:
            progress(done, total)
    write_git_files(dest_real, own, [e.path for e, _ in lfs])
    return LfsReport(files=len(entries), lfs_files=len(lfs), objects_written=written,
                     bytes=total, tree_id=tree_id)


def _read_small(store: ObjectStore, e: TreeEntry) -> bytes:
    return b"".join(bytes(block) for block in _content(store, e))


def _refuse_replacing(lfs: list[tuple[TreeEntry, Path]], own: dict[str, tuple[bytes, Path]]) -> None:
    """Refuse to replace a file of the destination that is neither an LFS pointer, the same
    git file, nor a ``.gitattributes`` (which is merged)."""
    for _, target in lfs:
        if target.exists() and not (target.is_file() and _is_lfs_pointer(target)):
            raise _would_replace(target)
    for path, (content, target) in own.items():
        if not target.exists():
            continue
        mergeable = posixpath.basename(path) == ATTRIBUTES_FILE
        if not target.is_file() or not (mergeable or target.read_bytes() == content):
            raise _would_replace(target)


def _would_replace(target: Path) -> InvalidInputError:
    return InvalidInputError(
        f"{target} exists and is not a Git LFS pointer; it would be replaced",
        hint="export into an empty folder, or move the file away",
        path=str(target),
    )


def _is_lfs_pointer(path: Path) -> bool:
    with open(path, "rb") as f:
        return parse_lfs_pointer(f.read(MAX_LFS_POINTER)) is not None


def _write_object(store: ObjectStore, e: TreeEntry, objects_dir: Path) -> str:
    """Copy a file's content into the LFS object folder, hashing it; returns its SHA-256."""
    h = hashlib.sha256()
    tmp = objects_dir / f".mk-{os.urandom(8).hex()}.tmp"
    try:
        with storage_errors(tmp), open(tmp, "xb") as out:
            for block in _content(store, e):
                h.update(block)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        sha = h.hexdigest()
        final = lfs_object_path(objects_dir, sha)
        with storage_errors(final):
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
        return sha
    finally:
        unlink_quietly(tmp)


# -- import ---------------------------------------------------------------------------------------


def resolve_lfs(src: SourceFile, objects_dir: Path) -> tuple[SourceFile, str | None]:
    """The file to store for ``src``: the LFS object its pointer names (SHA-256 and size
    checked), or ``src`` itself when it is not a pointer. Returns (file, sha256 or None)."""
    if src.st.st_size >= MAX_LFS_POINTER:
        return src, None
    pointer = parse_lfs_pointer(src.path.read_bytes())
    if pointer is None:
        return src, None
    obj = lfs_object_path(objects_dir, pointer.sha256)
    if not obj.is_file():
        raise ObjectNotFoundError(
            f"the Git LFS object of {src.rel} (sha256 {pointer.sha256}) is not in {objects_dir}",
            hint="run 'git lfs fetch' first, or pass --objects DIR",
            path=src.rel,
            oid=pointer.sha256,
        )
    st = obj.stat()
    actual = sha256_file(obj) if st.st_size == pointer.size else None
    if actual != pointer.sha256:
        raise CorruptObjectError(
            f"the Git LFS object of {src.rel} ({obj}) does not match its pointer "
            f"(sha256 {pointer.sha256}, size {pointer.size}); nothing was imported",
            hint="fetch it again: git lfs fetch --all, then retry",
            path=src.rel,
            oid=pointer.sha256,
        )
    return SourceFile(src.rel, obj, st), pointer.sha256


def import_lfs(
    store: ObjectStore, src: Path, objects_dir: Path, index: Sha256Index, *, progress: Progress | None = None
) -> LfsReport:
    """Store the files of an LFS checkout ``src`` as a tree, each pointer replaced by its
    object. Every object is checked before the tree is published; nothing is half-imported."""
    files = scan(Path(src), exclude=[".git", "*/.git"])
    resolved = [(f, *resolve_lfs(f, Path(objects_dir))) for f in files]
    total = sum(real.st.st_size for _, real, _ in resolved)
    lock, done = threading.Lock(), [0]

    def counted(n: int) -> None:
        with lock:
            done[0] += n
            if progress is not None:
                progress(done[0], total)

    with store.batch() as batch, ThreadPoolExecutor(store.workers) as pool:

        def put(item: tuple[SourceFile, SourceFile, str | None]) -> TreeEntry:
            orig, real, _ = item
            workers = store.workers if is_chunked(real.st.st_size) else 1
            s = ingest_file(batch, real, workers=workers, on_bytes=counted)
            kind: Literal["blob", "manifest"] = "manifest" if s.kind == "manifest" else "blob"
            return TreeEntry(
                orig.rel, s.oid, real.st.st_size, normalize_mode(orig.st.st_mode), kind, s.file_id
            )

        entries = list(pool.map(put, resolved))
        tree_id = batch.put_bytes(encode_tree(entries))
    for entry, (*_, sha) in zip(entries, resolved, strict=True):
        if sha is not None:
            index.put(entry.file_id, sha)
    return LfsReport(files=len(files), lfs_files=sum(sha is not None for *_, sha in resolved),
                     bytes=total, tree_id=tree_id)
