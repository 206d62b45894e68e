"""Checkout verifies what it writes: corrupt objects, lying manifests and short tree entries are
refused in every link mode, nothing is left under the real name, and the culprit is quarantined."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from modelkeep.errors import CorruptObjectError, StorageError
from modelkeep.storage.checkout import checkout
from modelkeep.storage.copier import FICLONE
from modelkeep.storage.fsck import fsck_objects
from modelkeep.storage.hashing import hash_bytes
from modelkeep.storage.manifest import FileManifest, read_manifest
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.statcache import StatCache
from modelkeep.storage.tree import TreeEntry, add_path, read_tree, write_tree

LINKS = ["copy", "auto", "hardlink", "reflink"]
BIG = 9 << 20  # chunked


@pytest.fixture
def src(tmp_path: Path) -> Path:
    """A small file (one blob) and a big one (chunks and a manifest)."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "small.bin").write_bytes(os.urandom(200_000))
    (tmp_path / "src" / "big.bin").write_bytes(os.urandom(BIG))
    return tmp_path / "src"


def flip(store: ObjectStore, oid: str, at: int = 1000) -> None:
    """Flip one byte of a stored object in place (same size: only a hash can tell)."""
    path = store.object_path(oid)
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.seek(at)
        b = f.read(1)
        f.seek(at)
        f.write(bytes([b[0] ^ 0xFF]))


def entry(store: ObjectStore, tree: str, path: str) -> TreeEntry:
    return next(e for e in read_tree(store, tree) if e.path == path)


def no_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def can_reflink(folder: Path) -> bool:
    """True when this filesystem clones files (btrfs, XFS); ext4 and tmpfs cannot."""
    a, b = folder / "reflink-probe-a", folder / "reflink-probe-b"
    a.write_bytes(b"x" * 4096)
    with open(a, "rb") as src, open(b, "wb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
            return True
        except OSError:
            return False
        finally:
            a.unlink()
            b.unlink()


def refusal(link: str, blob: bool, folder: Path) -> type[Exception]:
    """What checkout of a bad whole-file blob raises: reflink mode where the filesystem cannot
    clone stops at the first clone (storage_error), before any byte is written."""
    if link == "reflink" and blob and not can_reflink(folder):
        return StorageError
    return CorruptObjectError


def checkout_or_no_reflink(store: ObjectStore, tree: str, out: Path, link: str, **kw: object) -> None:
    checkout(store, tree, out, link=link, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("link", LINKS)
def test_a_corrupt_blob_is_refused_and_quarantined(store: ObjectStore, src: Path, tmp_path: Path,
                                                   link: str) -> None:
    tree = add_path(store, src).tree_id
    oid = entry(store, tree, "small.bin").oid
    flip(store, oid)
    out = tmp_path / "out"
    expected = refusal(link, True, tmp_path)
    with pytest.raises(expected) as err:
        checkout_or_no_reflink(store, tree, out, link, patterns=["small.bin"])
    assert no_files(out) == []  # nothing under the real name, no temporary file
    if expected is CorruptObjectError:
        assert oid in str(err.value) and "fsck --repair" in (err.value.hint or "")
        assert not store.has(oid)  # quarantined: the next register or pull writes it again
        assert any(p.name.startswith(oid) for p in store.quarantine_dir.iterdir())


@pytest.mark.parametrize("link", LINKS)
def test_a_corrupt_chunk_is_refused_and_quarantined(store: ObjectStore, src: Path, tmp_path: Path,
                                                    link: str) -> None:
    tree = add_path(store, src).tree_id
    chunk = read_manifest(store, entry(store, tree, "big.bin").oid).chunks[2][0]
    flip(store, chunk)
    out = tmp_path / "out"
    with pytest.raises(CorruptObjectError, match=chunk):
        checkout_or_no_reflink(store, tree, out, link, patterns=["big.bin"])
    assert no_files(out) == []
    assert not store.has(chunk)


@pytest.mark.parametrize("link", LINKS)
def test_a_manifest_lying_about_its_file_is_refused(store: ObjectStore, src: Path, tmp_path: Path,
                                                    link: str) -> None:
    """A manifest claiming the genuine file id but listing another file's chunks (every object
    intact, so only the whole-file id can tell)."""
    tree = add_path(store, src).tree_id
    genuine = entry(store, tree, "big.bin")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "big.bin").write_bytes(os.urandom(BIG))
    other = read_manifest(store, entry(store, add_path(store, tmp_path / "other").tree_id, "big.bin").oid)
    liar = store.put_bytes(FileManifest(genuine.file_id, BIG, other.chunks).encode())
    forged = write_tree(store, [TreeEntry("big.bin", liar, BIG, 0o644, "manifest", genuine.file_id)])
    out = tmp_path / "out"
    with pytest.raises(CorruptObjectError, match="big.bin"):
        checkout_or_no_reflink(store, forged, out, link)
    assert no_files(out) == []
    assert all(store.has(oid) for oid, _ in other.chunks)  # the chunks are not to blame


@pytest.mark.parametrize("link", LINKS)
def test_a_tree_entry_shorter_than_its_blob_is_refused(store: ObjectStore, src: Path,
                                                       tmp_path: Path, link: str) -> None:
    tree = add_path(store, src).tree_id
    e = entry(store, tree, "small.bin")
    forged = write_tree(store, [TreeEntry("small.bin", e.oid, e.size - 100, 0o644, "blob")])
    out = tmp_path / "out"
    with pytest.raises(refusal(link, True, tmp_path)):
        checkout_or_no_reflink(store, forged, out, link)
    assert no_files(out) == []
    assert store.has(e.oid)  # the blob is intact: the tree lies


def test_a_hardlinked_file_edited_in_place_is_caught_on_the_next_checkout(
        store: ObjectStore, src: Path, tmp_path: Path) -> None:
    """Root ignores the read-only mode of a hard-linked file: editing it edits the store."""
    tree = add_path(store, src).tree_id
    out = tmp_path / "out"
    cache = StatCache(tmp_path / "statcache.json")
    checkout(store, tree, out, link="hardlink", patterns=["small.bin"], stat_cache=cache)
    assert checkout(store, tree, out, link="hardlink", stat_cache=cache,
                    patterns=["small.bin"]).files_skipped == 1  # verified once, then cached
    target = out / "small.bin"
    os.chmod(target, 0o644)  # what root's editor does without asking
    with open(target, "r+b") as f:
        f.write(b"edited")
    with pytest.raises(CorruptObjectError):
        checkout(store, tree, out, link="hardlink", patterns=["small.bin"], stat_cache=cache)
    assert not fsck_objects(store).corrupt  # the damaged object left the store


def test_copy_is_the_default_so_editing_a_checkout_never_touches_the_store(
        store: ObjectStore, src: Path, tmp_path: Path) -> None:
    tree = add_path(store, src).tree_id
    out = tmp_path / "out"
    checkout(store, tree, out)
    for name in ("small.bin", "big.bin"):
        with open(out / name, "r+b") as f:
            f.write(b"edited")
    assert fsck_objects(store).ok


def test_stat_cache_never_vouches_for_unverified_bytes(store: ObjectStore, src: Path,
                                                      tmp_path: Path) -> None:
    """Bad bytes written with verification off, the object repaired: re-checkout rewrites."""
    tree = add_path(store, src).tree_id
    genuine = (src / "small.bin").read_bytes()
    oid = entry(store, tree, "small.bin").oid
    flip(store, oid)
    cache = StatCache(tmp_path / "statcache.json")
    out = tmp_path / "out"
    checkout(store, tree, out, patterns=["small.bin"], verify=False, stat_cache=cache)
    assert (out / "small.bin").read_bytes() != genuine
    assert fsck_objects(store).corrupt == [oid]  # found and quarantined
    assert store.put_bytes(genuine) == oid  # repaired (what pull or register does)
    stats = checkout(store, tree, out, patterns=["small.bin"], stat_cache=cache)
    assert (stats.files_written, stats.files_skipped) == (1, 0)
    assert (out / "small.bin").read_bytes() == genuine


def test_a_verified_checkout_is_trusted_by_the_stat_cache(store: ObjectStore, src: Path,
                                                         tmp_path: Path) -> None:
    tree = add_path(store, src).tree_id
    cache = StatCache(tmp_path / "statcache.json")
    checkout(store, tree, tmp_path / "out", stat_cache=cache)
    assert checkout(store, tree, tmp_path / "out", stat_cache=cache).files_skipped == 2


def test_re_registering_after_a_corrupt_read_writes_the_object_again(
        store: ObjectStore, src: Path, tmp_path: Path) -> None:
    tree = add_path(store, src).tree_id
    chunk = read_manifest(store, entry(store, tree, "big.bin").oid).chunks[0][0]
    flip(store, chunk)
    with pytest.raises(CorruptObjectError):
        checkout(store, tree, tmp_path / "out")
    again = add_path(store, src).tree_id  # the same version, registered again
    assert again == tree and store.has(chunk)
    assert fsck_objects(store).ok
    checkout(store, tree, tmp_path / "out2")
    assert (tmp_path / "out2" / "big.bin").read_bytes() == (src / "big.bin").read_bytes()


def test_a_truncated_object_is_caught_even_without_verify(store: ObjectStore, src: Path,
                                                          tmp_path: Path) -> None:
    tree = add_path(store, src).tree_id
    oid = entry(store, tree, "small.bin").oid
    path = store.object_path(oid)
    os.chmod(path, 0o644)
    os.truncate(path, 100)
    with pytest.raises(CorruptObjectError):
        checkout(store, tree, tmp_path / "out", verify=False, patterns=["small.bin"])
    assert no_files(tmp_path / "out") == []


def test_quarantine_keeps_the_evidence_and_a_second_copy_too(store: ObjectStore) -> None:
    oid = store.put_bytes(b"x" * 5000)
    for _ in range(2):
        flip(store, oid, at=10)
        assert not store.verify(oid)
        assert not store.has(oid)
        store.put_bytes(b"x" * 5000)
    assert len([p for p in store.quarantine_dir.iterdir() if p.name.startswith(oid)]) == 2
    assert hash_bytes(store.get_bytes(oid)) == oid


def test_a_tree_entry_naming_a_manifest_of_another_file_is_refused(store: ObjectStore, src: Path,
                                                                   tmp_path: Path) -> None:
    tree = add_path(store, src).tree_id
    big, small = entry(store, tree, "big.bin"), entry(store, tree, "small.bin")
    forged = write_tree(store, [TreeEntry("big.bin", big.oid, big.size, 0o644, "manifest", small.file_id)])
    with pytest.raises(CorruptObjectError, match="big.bin"):
        checkout(store, forged, tmp_path / "out")
    assert no_files(tmp_path / "out") == []
