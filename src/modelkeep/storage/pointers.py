"""Pointer files for Git users: ``modelkeep add model.safetensors`` stores the file and writes
``model.safetensors.mk`` beside it, a few ``key value`` lines a Git repository can hold and diff::

    # modelkeep pointer: 'modelkeep pull' or 'modelkeep checkout' restores model.safetensors
    modelkeep-pointer 1
    kind file
    tree 5e1f…        the tree holding the file (a folder's tree for kind folder)
    file 9a0c…        the file's own id (kind file only)
    size 1073741824
    files 1

The tracked path is added to the ``.gitignore`` of its folder, so Git holds only the pointer.
Unknown keys are ignored (newer writers may add some); a missing or malformed one is refused.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from modelkeep.errors import InvalidInputError, ObjectNotFoundError, PathNotFoundError
from modelkeep.storage.durable import write_file_atomic
from modelkeep.storage.hashing import Progress, is_object_id
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.paths import POINTER_SUFFIX, Destination, check_restore_path
from modelkeep.storage.pins import pin
from modelkeep.storage.statcache import StatCache
from modelkeep.storage.tree import add_path, read_tree

if TYPE_CHECKING:  # restoring and LFS load when used: register reads pointers only
    from modelkeep.storage.checkout import CheckoutStats, LinkMode
    from modelkeep.storage.sha256index import Sha256Index

if TYPE_CHECKING:
    from modelkeep.storage.remotes import Remote
    from modelkeep.storage.transfer import TransferStats

POINTER_VERSION = 1
MAX_POINTER_SIZE = 4096
_SKIP_DIRS = {".git", ".modelkeep", ".hg", ".svn", "node_modules", "__pycache__"}
_GLOB_CHARS = re.compile(r"([*?\[\]\\!#])")


@dataclass(frozen=True)
class Pointer:
    """What a pointer file says: a file or a folder, its tree, and how big it is."""

    kind: Literal["file", "folder"]
    tree_id: str
    size: int
    files: int
    file_id: str | None = None
    sha256: str | None = None

    def encode(self, name: str) -> str:
        """The pointer file's text (``name`` is the tracked file or folder, for the comment)."""
        lines = [
            f"# modelkeep pointer: 'modelkeep pull' or 'modelkeep checkout' restores {name}",
            f"modelkeep-pointer {POINTER_VERSION}",
            f"kind {self.kind}",
            f"tree {self.tree_id}",
        ]
        if self.file_id:
            lines.append(f"file {self.file_id}")
        if self.sha256:
            lines.append(f"sha256 {self.sha256}")
        lines += [f"size {self.size}", f"files {self.files}"]
        return "\n".join(lines) + "\n"


def parse_pointer(text: str, where: str = "pointer") -> Pointer:
    """Read pointer text; InvalidInputError names the file and what is wrong."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            fields[key] = value.strip()
    try:
        if fields.get("modelkeep-pointer") != str(POINTER_VERSION):
            raise ValueError("not a modelkeep pointer (version 1)")
        kind = fields["kind"]
        tree, file_id = fields["tree"], fields.get("file")
        size, files = int(fields["size"]), int(fields["files"])
        if kind not in ("file", "folder") or not is_object_id(tree) or size < 0 or files < 0:
            raise ValueError("bad kind, tree, size or files")
        if file_id is not None and not is_object_id(file_id):
            raise ValueError("bad file id")
        sha256 = fields.get("sha256")
        if sha256 is not None and not is_object_id(sha256):  # also 64 lowercase hex digits
            raise ValueError("bad sha256")
    except (KeyError, ValueError) as exc:
        raise InvalidInputError(
            f"{where} is not a valid modelkeep pointer file: {exc}",
            hint="restore it from Git (git checkout -- FILE) or run 'modelkeep add' again",
            path=where,
        ) from exc
    return Pointer(kind, tree, size, files, file_id, sha256)  # type: ignore[arg-type]


def pointer_for(target: Path) -> Path:
    """The pointer file that tracks ``target``: ``model.bin`` -> ``model.bin.mk``."""
    return target.with_name(target.name + POINTER_SUFFIX)


def target_for(pointer: Path) -> Path:
    """The file or folder a pointer file restores: a plain name beside it, never ``.``, ``..``,
    ``.git`` or ``.modelkeep`` (``...mk`` would name the parent folder; UnsafePathError)."""
    if not pointer.name.endswith(POINTER_SUFFIX) or pointer.name == POINTER_SUFFIX:
        raise InvalidInputError(f"{pointer} is not a pointer file (*{POINTER_SUFFIX})", path=str(pointer))
    return pointer.with_name(check_restore_path(pointer.name[: -len(POINTER_SUFFIX)]))


def read_pointer(path: Path) -> Pointer:
    """Load and validate a pointer file."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_POINTER_SIZE + 1)
    except FileNotFoundError:
        raise PathNotFoundError(f"pointer file {path} does not exist", path=str(path)) from None
    if len(data) > MAX_POINTER_SIZE:
        raise InvalidInputError(f"{path} is too large to be a pointer file", path=str(path))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(f"{path} is not a text pointer file", path=str(path)) from None
    return parse_pointer(text, str(path))


def tree_of_pointer(path: Path) -> str | None:
    """The tree a ``*.mk`` pointer file names, or None when ``path`` is not one."""
    if not path.name.endswith(POINTER_SUFFIX) or not path.is_file():
        return None
    return read_pointer(path).tree_id


def find_pointers(root: Path) -> list[Path]:
    """Every ``*.mk`` pointer file under ``root`` (or ``root`` itself), skipping VCS folders."""
    root = Path(root)
    if root.is_file():
        return [root]
    return sorted(_walk_pointers(root))


def _walk_pointers(folder: Path) -> Iterator[Path]:
    with os.scandir(folder) as entries:
        for e in entries:
            if e.is_dir(follow_symlinks=False):
                if e.name not in _SKIP_DIRS:
                    yield from _walk_pointers(Path(e.path))
            elif e.name.endswith(POINTER_SUFFIX) and e.is_file(follow_symlinks=False):
                yield Path(e.path)


def gitignore_line(target: Path) -> str:
    """The line ``ignore_in_git`` writes for ``target``: ``/NAME``, glob characters escaped."""
    return "/" + _GLOB_CHARS.sub(r"\\\1", target.name)


def ignore_in_git(target: Path) -> bool:
    """Add ``/NAME`` to the ``.gitignore`` beside ``target``; False when it was already there."""
    ignore = target.parent / ".gitignore"
    line = gitignore_line(target)
    text = ignore.read_text(encoding="utf-8") if ignore.exists() else ""
    if line in text.splitlines():
        return False
    if text and not text.endswith("\n"):
        text += "\n"
    write_file_atomic(ignore, (text + line + "\n").encode("utf-8"), durable=False)
    return True


def track(
    store: ObjectStore,
    target: Path,
    pins_dir: Path,
    *,
    progress: Progress | None = None,
    stat_cache: StatCache | None = None,
    sha256: Sha256Index | None = None,
) -> tuple[Path, Pointer]:
    """Store ``target`` (file or folder), write its pointer file, git-ignore it, pin its tree.

    With a ``sha256`` index, every file's SHA-256 is computed and kept (a file's pointer shows it).
    """
    target = Path(target)
    if target.name.endswith(POINTER_SUFFIX):
        raise InvalidInputError(
            f"{target} is a pointer file already", hint="add the file it names", path=str(target)
        )
    if not target.exists():
        raise PathNotFoundError(f"{target} does not exist", hint="check the path", path=str(target))
    parts = set(target.resolve().parts)
    if ".git" in parts or ".modelkeep" in parts:
        raise InvalidInputError(f"{target} is inside .git or .modelkeep", path=str(target))
    info = add_path(
        store, target, progress=progress, stat_cache=stat_cache, exclude=[".git", "*/.git"],
        sha256=sha256 is not None,
    )
    shas: dict[str, str] = {}
    if sha256 is not None:
        from modelkeep.storage.lfs import file_sha256s

        shas = file_sha256s(store, info.tree_id, sha256)
    if target.is_dir():
        pointer = Pointer("folder", info.tree_id, info.size, info.files)
    else:
        entry = read_tree(store, info.tree_id)[0]
        pointer = Pointer("file", info.tree_id, info.size, 1, entry.file_id, shas.get(entry.path))
    path = pointer_for(target)
    pin(pins_dir, info.tree_id, path)  # pinned before the pointer exists: gc never races it
    write_file_atomic(path, pointer.encode(target.name).encode("utf-8"))
    ignore_in_git(target)
    return path, pointer


def restore(
    store: ObjectStore,
    pointer_path: Path,
    *,
    link: LinkMode = "auto",
    progress: Progress | None = None,
    stat_cache: StatCache | None = None,
    root: Path | None = None,
    protected: Sequence[Path] = (),
) -> CheckoutStats:
    """Turn a pointer file back into its file or folder (files already in place are skipped).

    Nothing is written outside ``root`` (default: the pointer's folder), through a symlink, into
    a ``.git`` or ``.modelkeep`` folder or into ``protected`` folders (UnsafePathError).
    """
    from modelkeep.storage.checkout import checkout

    pointer_path = Path(pointer_path)
    root = pointer_path.parent if root is None else Path(root)
    target = restore_target(pointer_path, root)
    pointer = read_pointer(pointer_path)
    if pointer.kind == "folder":
        return checkout(store, pointer.tree_id, target, link=link, progress=progress,
                        stat_cache=stat_cache, root=root, protected=protected)
    entries = read_tree(store, pointer.tree_id)
    if len(entries) != 1:
        raise InvalidInputError(
            f"{pointer_path} names a tree of {len(entries)} files, not one file", path=str(pointer_path)
        )
    if entries[0].path == target.name:
        return checkout(store, pointer.tree_id, target.parent, link=link, progress=progress,
                        stat_cache=stat_cache, root=root, protected=protected)
    _refuse_folder(target)
    import shutil  # here, not at the top: shutil pulls bz2 and lzma into every command's start-up

    staging = target.parent / f".{target.name}.{os.urandom(4).hex()}.mk-restore"
    try:  # the pointer was renamed: restore under the stored name, then move into place
        stats = checkout(store, pointer.tree_id, staging, link=link, progress=progress, root=root,
                         protected=protected)
        with Destination(target.parent, root=root, protected=protected) as folder:
            os.replace(staging / entries[0].path, target.name, dst_dir_fd=folder.fd)
    except IsADirectoryError:
        raise _folder_in_the_way(target) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return stats


def restore_target(pointer_path: Path, root: Path) -> Path:
    """The file or folder ``pointer_path`` restores, once checked to be a plain name in the
    pointer's own folder, below ``root``, outside .git and .modelkeep (else UnsafePathError)."""
    target = target_for(pointer_path)
    rel = os.path.relpath(os.path.abspath(target), os.path.abspath(root))
    check_restore_path(rel.replace(os.sep, "/"))
    return target


def _refuse_folder(target: Path) -> None:
    if target.is_dir() and not target.is_symlink():
        raise _folder_in_the_way(target)


def _folder_in_the_way(target: Path) -> InvalidInputError:
    return InvalidInputError(
        f"cannot restore {target}: a folder is in the way",
        hint="move the folder away (or rename the pointer file) and run the command again",
        path=str(target),
    )


def missing_objects(store: ObjectStore, tree_ids: list[str]) -> bool:
    """True when restoring these trees needs objects the local store lacks."""
    from modelkeep.storage.transfer import waves

    try:
        plan = waves(store, tree_ids)
    except ObjectNotFoundError:
        return True
    return any(not store.has(oid) for wave in plan for oid in wave)


def restore_all(
    store: ObjectStore,
    pointers: list[Path],
    pins_dir: Path,
    *,
    remote: Callable[[], Remote] | None = None,
    link: LinkMode = "auto",
    progress: Progress | None = None,
    root: Path | None = None,
    protected: Sequence[Path] = (),
) -> tuple[list[str], TransferStats | None]:
    """Restore every pointer; objects missing here are first pulled from ``remote()`` (opened
    only when needed). Returns (restored paths, the transfer or None). Every target is checked
    first (``restore_target``: below ``root``, default each pointer's folder); nothing is
    fetched or written if one is unsafe."""
    from modelkeep.storage.transfer import pull_objects

    root = Path(root) if root is not None else None
    for p in pointers:  # every target checked before anything is fetched or written
        restore_target(Path(p), root if root is not None else Path(p).parent)
    parsed = {p: read_pointer(p) for p in pointers}
    trees = list(dict.fromkeys(pt.tree_id for pt in parsed.values()))
    stats = None
    if trees and missing_objects(store, trees):
        if remote is None:
            raise ObjectNotFoundError(
                "the files these pointers name are not in this keep",
                hint="pull them from a remote: modelkeep pull (see 'modelkeep remote list')",
            )
        stats = pull_objects(store, remote(), trees, progress=progress)
    restored = []
    for path, pointer in parsed.items():
        restore(store, path, link=link, root=root, protected=protected)
        pin(pins_dir, pointer.tree_id, path)
        restored.append(str(path))
    return restored, stats
