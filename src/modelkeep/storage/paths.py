"""Tree paths: relative, POSIX, portable, and never able to escape the folder they land in.

Restoring files (checkout, pointer restore) goes through a ``Destination``: every path is
checked (no ``..``, absolute path, backslash, nor a ``.git`` or ``.modelkeep`` folder in any
spelling a filesystem treats as the same), every parent is resolved and must stay inside the
destination and outside the keep's own folders, and the writes themselves go through folder
descriptors opened one component at a time without following symlinks, so a symlink created
while files are being written cannot redirect them (``docs/storage.md``, "Where files may land").
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path

from modelkeep.errors import InvalidInputError, UnsafePathError

# what a pointer file's name ends with (storage/pointers.py): here, where both pointers and the
# registry's choice of model files (which must not load pointers on every register) reach it
POINTER_SUFFIX = ".mk"
# .git and .modelkeep, and their Windows 8.3 short names (the leading dot dropped)
_RESERVED = frozenset({".git", ".modelkeep", "git~1", "modelk~1"})
# code points HFS+ ignores in names (git's is_hfs_dotgit list): ".g\u200cit" is ".git" there
_HFS_IGNORED = dict.fromkeys(map(ord, "\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                                      "\u206a\u206b\u206c\u206d\u206e\u206f\ufeff"))
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_SYMLINK_ERRNOS = (errno.ELOOP, errno.EMLINK, errno.ENOTDIR)  # EMLINK: O_NOFOLLOW on FreeBSD


def check_tree_path(path: object) -> str:
    """Return ``path`` if it is a safe relative POSIX path, else raise UnsafePathError.

    Rejected: empty, absolute, ``.``/``..``/empty components, backslashes, NUL, and names that
    are not valid UTF-8 (they could not be restored on another machine).
    """
    if not isinstance(path, str) or not path:
        raise _unsafe(path, "it is empty")
    if "\x00" in path or "\\" in path:
        raise _unsafe(path, "it contains a NUL or backslash")
    if path.startswith("/"):
        raise _unsafe(path, "it is absolute")
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise _unsafe(path, "it has an empty, '.' or '..' component")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise _unsafe(path, "it is not valid UTF-8") from None
    return path


def is_reserved_name(name: str) -> bool:
    """True when ``name`` is ``.git`` or ``.modelkeep`` on some filesystem: in any case
    (macOS, Windows), with trailing dots or spaces or an NTFS stream suffix (``.git::$DATA``),
    as an 8.3 short name (``GIT~1``), with code points HFS+ ignores, or in a compatibility form."""
    if name.isascii():
        if name[:1] != "." and "~" not in name:
            return False  # the common case, decided cheaply (scans call this for every name)
        folded = name.lower()
    else:
        folded = unicodedata.normalize("NFKC", name.translate(_HFS_IGNORED)).casefold()
    return folded.split(":", 1)[0].rstrip(". ") in _RESERVED


def check_restore_path(path: object) -> str:
    """``check_tree_path``, and no component may be a ``.git`` or ``.modelkeep`` folder."""
    check_tree_path(path)
    assert isinstance(path, str)
    for part in path.split("/"):
        if is_reserved_name(part):
            raise _unsafe(path, f"'{part}' is a .git or .modelkeep folder, which is never restored")
    return path


def check_name(name: str, rel: str) -> None:
    """Check one folder entry name found on disk (cheap: the OS already rules out '/', NUL,
    '.' and '..'); ``rel`` is the tree path it would get, for the message."""
    if "\\" in name:
        raise _unsafe(rel, "it contains a backslash")
    if not name.isascii():
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise _unsafe(rel, "it is not valid UTF-8") from None


def is_within(child: str, parent: str) -> bool:
    """True when real path ``child`` is ``parent`` or below it."""
    return child == parent or child.startswith(parent.rstrip(os.sep) + os.sep)


def safe_join(dest_real: Path, rel: str, protected: Sequence[str] = ()) -> Path:
    """``dest_real / rel``, refusing a path that escapes ``dest_real`` (including via symlinked
    folders already present in the destination), names a ``.git`` or ``.modelkeep`` folder, or
    lands in one of the ``protected`` real paths. ``dest_real`` must be a resolved path."""
    check_restore_path(rel)
    target = dest_real.joinpath(*rel.split("/"))
    parent = os.path.realpath(target.parent)
    if not is_within(parent, str(dest_real)):
        raise _unsafe(rel, f"it would be written outside {dest_real} through a symlink")
    if any(is_within(parent, p) for p in protected):
        raise _unsafe(rel, "it would be written into the keep's own folders")
    return target


class Destination:
    """The folder a checkout writes into, held open: ``root``'s descriptor, then each folder
    down to ``dest`` opened (created when missing) without following symlinks. With no
    ``root``, ``dest`` itself is the root (a symlink naming it is the caller's choice).
    ``protected``: folders nothing may be written into (the keep's folder and store)."""

    def __init__(self, dest: Path, *, root: Path | None = None, protected: Sequence[Path] = ()) -> None:
        self.protected = [os.path.realpath(p) for p in protected]
        if root is None:
            base, parts = Path(os.path.realpath(dest)), []
        else:
            base = Path(os.path.realpath(root))
            rel = os.path.relpath(os.path.abspath(dest), os.path.abspath(root))
            parts = [] if rel == "." else check_restore_path(rel.replace(os.sep, "/")).split("/")
        self.real = base.joinpath(*parts)
        self._checked: set[Path] = set()  # folders on the way already seen to be real folders
        bad = [part for part in self.real.parts if is_reserved_name(part)]
        if bad:
            raise _unsafe(str(dest), f"'{bad[0]}' is a .git or .modelkeep folder")
        if any(is_within(str(self.real), p) for p in self.protected):
            raise _unsafe(str(dest), "it is inside the keep's own folders")
        base.mkdir(parents=True, exist_ok=True)
        self.fd = _open_below(os.open(base, _DIR_FLAGS & ~os.O_NOFOLLOW), parts, str(dest))

    def close(self) -> None:
        """Release the folder descriptor."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Destination:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def target(self, rel: str) -> Path:
        """Where tree path ``rel`` lands, checked before anything is written: UnsafePathError
        if it is unsafe, if a folder already on its way is a symlink (even one staying inside:
        writes never follow one), or if it lands in a protected folder."""
        check_restore_path(rel)
        parts = rel.split("/")
        folder = self.real
        for part in parts[:-1]:
            folder = folder / part
            if folder in self._checked:
                continue
            try:
                st = os.lstat(folder)
            except FileNotFoundError:
                break  # made when written
            if not stat.S_ISDIR(st.st_mode):
                raise _in_the_way(st.st_mode, part, rel)
            self._checked.add(folder)
        target = self.real.joinpath(*parts)  # no symlink on the way: the real path
        if any(is_within(str(target.parent), p) for p in self.protected):
            raise _unsafe(rel, "it would be written into the keep's own folders")
        return target

    @contextlib.contextmanager
    def parent_of(self, rel: str) -> Iterator[int]:
        """A descriptor of the folder that will hold ``rel``, its folders created as needed,
        none of them followed if it is a symlink (UnsafePathError)."""
        fd = _open_below(os.dup(self.fd), rel.split("/")[:-1], rel)
        try:
            yield fd
        finally:
            os.close(fd)

    def chmod(self, rel: str, mode: int) -> None:
        """Set the mode of the file at ``rel``, following no symlink (not even at ``rel``)."""
        with self.parent_of(rel) as folder:
            fd = os.open(rel.rsplit("/", 1)[-1], os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0),
                         dir_fd=folder)
            try:
                os.fchmod(fd, mode)
            finally:
                os.close(fd)


def _open_below(fd: int, parts: Sequence[str], rel: str) -> int:
    """Open ``parts`` one by one below folder ``fd`` (consumed), creating missing folders."""
    try:
        for part in parts:
            try:
                child = _open_child(fd, part, rel)
            except FileNotFoundError:
                with contextlib.suppress(FileExistsError):  # another thread may make it too
                    os.mkdir(part, 0o777, dir_fd=fd)
                child = _open_child(fd, part, rel)
            os.close(fd)
            fd = child
        return fd
    except BaseException:
        os.close(fd)
        raise


def _open_child(fd: int, part: str, rel: str) -> int:
    try:
        return os.open(part, _DIR_FLAGS, dir_fd=fd)
    except OSError as exc:
        if exc.errno not in _SYMLINK_ERRNOS:
            raise
        raise _in_the_way(os.lstat(part, dir_fd=fd).st_mode, part, rel) from None


def _in_the_way(mode: int, part: str, rel: str) -> InvalidInputError:
    """The error for a folder component (of lstat mode ``mode``) that is not a real folder."""
    if stat.S_ISLNK(mode):
        return _unsafe(rel, f"'{part}' on its way is a symlink, which is never followed")
    return InvalidInputError(
        f"cannot restore {rel}: '{part}' on its way is a file, not a folder",
        hint="move that file away and run the command again", path=rel,
    )


def _unsafe(path: object, why: str) -> UnsafePathError:
    return UnsafePathError(
        f"unsafe path {path!r}: {why}", path=str(path),
        hint="inspect where this path came from (a pointer file, a pulled version, a symlink "
             "in the destination) before trusting it",
    )
