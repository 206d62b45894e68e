import os
import stat
import time
from pathlib import Path

import pytest
from support import skip_outside_ci

from modelkeep.errors import (
    CorruptObjectError,
    InvalidInputError,
    ObjectNotFoundError,
    PathNotFoundError,
    StorageError,
    UnsafePathError,
)
from modelkeep.storage.checkout import checkout
from modelkeep.storage.durable import ABANDONED_TMP_AGE, STALE_TMP_AGE
from modelkeep.storage.hashing import hash_bytes
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.statcache import StatCache
from modelkeep.storage.tree import TreeEntry, add_path, write_tree


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return ObjectStore(tmp_path / "k" / "objects", tmp_path / "k" / "tmp")


@pytest.fixture
def src(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("alpha")
    (root / "sub" / "w.bin").write_bytes(os.urandom(100_000))
    (root / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(root / "run.sh", 0o755)
    return root


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(root)): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("link", ["copy", "auto"])
def test_restores_byte_for_byte(store: ObjectStore, src: Path, tmp_path: Path, link: str) -> None:
    tree = add_path(store, src).tree_id
    seen: list[tuple[int, int]] = []
    stats = checkout(store, tree, tmp_path / "out", link=link, progress=lambda d, t: seen.append((d, t)))  # type: ignore[arg-type]
    assert snapshot(tmp_path / "out") == snapshot(src)
    assert (stats.files_written, stats.files_skipped) == (3, 0)
    assert stats.bytes_written == 100_000 + 5 + 10 and seen[-1][0] == seen[-1][1]
    assert not [p for p in (tmp_path / "out").rglob("*mk-tmp")]


def test_second_checkout_does_no_work(store: ObjectStore, src: Path, tmp_path: Path) -> None:
    tree = add_path(store, src).tree_id
    cache = StatCache(tmp_path / "cache")
    checkout(store, tree, tmp_path / "out", stat_cache=cache)
    again = checkout(store, tree, tmp_path / "out", stat_cache=cache)
    assert (again.files_written, again.files_skipped, again.bytes_written) == (0, 3, 0)


def test_changed_files_are_restored(store: ObjectStore, src: Path, tmp_path: Path) -> None:
    tree = add_path(store, src).tree_id
    out = tmp_path / "out"
    checkout(store, tree, out)
    (out / "a.txt").write_text("ALPHA")  # same size, other content
    (out / "sub" / "w.bin").unlink()
    os.chmod(out / "run.sh", 0o644)
    (out / "extra.txt").write_text("mine")
    stats = checkout(store, tree, out)
    assert stats.files_written == 2 and stats.files_skipped == 1
    assert snapshot(out) == {**snapshot(src), "extra.txt": (b"mine", 0o644)}


def test_patterns_select_files(store: ObjectStore, src: Path, tmp_path: Path) -> None:
    tree = add_path(store, src).tree_id
    checkout(store, tree, tmp_path / "o1", patterns=["sub"])
    assert list(snapshot(tmp_path / "o1")) == ["sub/w.bin"]
    checkout(store, tree, tmp_path / "o2", patterns=["*.txt", "run.*"])
    assert list(snapshot(tmp_path / "o2")) == ["a.txt", "run.sh"]
    with pytest.raises(PathNotFoundError):
        checkout(store, tree, tmp_path / "o3", patterns=["*.txt", "nothing*"])


def test_hardlink_shares_the_read_only_object(store: ObjectStore, src: Path, tmp_path: Path) -> None:
    tree = add_path(store, src).tree_id
    out = tmp_path / "out"
    checkout(store, tree, out, link="hardlink")
    f = out / "sub" / "w.bin"
    assert f.read_bytes() == (src / "sub" / "w.bin").read_bytes()
    assert f.stat().st_nlink == 2
    assert stat.S_IMODE(f.stat().st_mode) == 0o444
    assert checkout(store, tree, out, link="hardlink").files_skipped == 3


def test_reflink_mode_errors_where_unsupported(store: ObjectStore, src: Path, tmp_path: Path) -> None:
    tree = add_path(store, src).tree_id
    try:
        checkout(store, tree, tmp_path / "out", link="reflink")
    except StorageError as exc:  # ext4, tmpfs: no copy-on-write clones
        assert "reflink" in str(exc)
    else:
        assert snapshot(tmp_path / "out") == snapshot(src)


def test_verify_detects_corrupt_objects(store: ObjectStore, src: Path, tmp_path: Path) -> None:
    tree = add_path(store, src).tree_id
    oid = hash_bytes(b"alpha")
    p = store.object_path(oid)
    os.chmod(p, 0o644)
    p.write_bytes(b"omega")
    with pytest.raises(CorruptObjectError):
        checkout(store, tree, tmp_path / "out", verify=True, patterns=["a.txt"])
    assert not (tmp_path / "out" / "a.txt").exists()
    p.write_bytes(b"om")  # truncated: caught even without verify
    with pytest.raises(CorruptObjectError):
        checkout(store, tree, tmp_path / "out2", patterns=["a.txt"])
    assert not (tmp_path / "out2" / "a.txt").exists()


def test_missing_objects_fail_before_writing(store: ObjectStore, src: Path, tmp_path: Path) -> None:
    tree = add_path(store, src).tree_id
    store.delete(hash_bytes(b"alpha"))
    with pytest.raises(ObjectNotFoundError):
        checkout(store, tree, tmp_path / "out")
    assert snapshot(tmp_path / "out") == {}


def test_symlinked_folder_in_dest_cannot_redirect_writes(
    store: ObjectStore, src: Path, tmp_path: Path
) -> None:
    tree = add_path(store, src).tree_id
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (out / "sub").symlink_to(outside)
    with pytest.raises(UnsafePathError):
        checkout(store, tree, out)
    assert list(outside.iterdir()) == []


def test_folder_in_the_way(store: ObjectStore, src: Path, tmp_path: Path) -> None:
    tree = add_path(store, src).tree_id
    (tmp_path / "out" / "a.txt").mkdir(parents=True)
    with pytest.raises(InvalidInputError):
        checkout(store, tree, tmp_path / "out", patterns=["a.txt"])


def test_bad_link_mode_and_unknown_tree(store: ObjectStore, tmp_path: Path) -> None:
    tree = write_tree(store, [])
    with pytest.raises(InvalidInputError):
        checkout(store, tree, tmp_path / "o", link="symlink")  # type: ignore[arg-type]
    with pytest.raises(ObjectNotFoundError):
        checkout(store, hash_bytes(b"?"), tmp_path / "o")


def test_symlink_at_target_is_replaced_not_followed(store: ObjectStore, src: Path, tmp_path: Path) -> None:
    tree = add_path(store, src).tree_id
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").symlink_to(victim)
    checkout(store, tree, out)
    assert victim.read_text() == "keep me" and (out / "a.txt").read_text() == "alpha"
    assert not (out / "a.txt").is_symlink()


def test_tree_with_chunked_entry_needs_its_manifest(store: ObjectStore, tmp_path: Path) -> None:
    oid = hash_bytes(b"no manifest stored")
    tree = write_tree(store, [TreeEntry("big", oid, 10, 0o644, "manifest", hash_bytes(b"f"))])
    with pytest.raises(ObjectNotFoundError):
        checkout(store, tree, tmp_path / "o")


def test_hardlink_across_filesystems_is_a_clear_error(store: ObjectStore, src: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == store.root.stat().st_dev:
        skip_outside_ci("no second filesystem to hard-link across")
    tree = add_path(store, src).tree_id
    out = shm / f"mk-test-{os.getpid()}"
    try:
        with pytest.raises(StorageError, match="hard-link"):
            checkout(store, tree, out, link="hardlink", patterns=["a.txt"])
        assert checkout(store, tree, out, link="auto").files_written == 3
    finally:
        import shutil

        shutil.rmtree(out, ignore_errors=True)


def test_short_chunk_is_caught_without_verify(store: ObjectStore, tmp_path: Path) -> None:
    from modelkeep.storage.manifest import read_manifest
    from modelkeep.storage.tree import read_tree

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "big.bin").write_bytes(os.urandom(12 << 20))  # chunked: buffered copy
    tree = add_path(store, tmp_path / "src").tree_id
    (entry,) = read_tree(store, tree)
    oid, size = read_manifest(store, entry.oid).chunks[1]
    path = store.object_path(oid)
    os.chmod(path, 0o644)
    os.truncate(path, size - 1)
    with pytest.raises(CorruptObjectError, match="holds"):
        checkout(store, tree, tmp_path / "out", link="copy", verify=False)
    assert list((tmp_path / "out").iterdir()) == []  # no partial file, no temporary file


def test_stale_temporary_files_of_a_killed_checkout_are_removed(
    store: ObjectStore, src: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    old = time.time() - 2 * STALE_TMP_AGE
    stale = out / "sub" / ".w.bin.0123456789ab.mk-tmp"  # a file this checkout writes
    fresh = out / ".a.txt.aaaaaaaaaaaa.mk-tmp"  # same, but maybe a live checkout's: kept
    other = out / ".gone.txt.bbbbbbbbbbbb.mk-tmp"  # not in the tree: kept until abandoned
    abandoned = out / ".old.txt.cccccccccccc.mk-tmp"
    mine = out / ".notes.mk-tmp"  # not our name pattern: never touched
    for p in (stale, fresh, other, abandoned, mine):
        p.write_bytes(b"partial")
    for p in (stale, other, mine):
        os.utime(p, (old, old))
    os.utime(abandoned, (old - ABANDONED_TMP_AGE, old - ABANDONED_TMP_AGE))
    checkout(store, add_path(store, src).tree_id, out)
    assert not stale.exists() and not abandoned.exists()
    assert fresh.exists() and other.exists() and mine.exists()
    kept = {str(p.relative_to(out)): (b"partial", 0o644) for p in (fresh, other, mine)}
    assert snapshot(out) == {**snapshot(src), **kept}


def test_a_symlink_made_during_checkout_cannot_redirect_writes(store: ObjectStore, tmp_path: Path) -> None:
    """A folder of the destination swapped for a symlink after the checks, between two files."""
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("first")
    (src / "sub" / "b.txt").write_text("second")
    tree = add_path(store, src).tree_id
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    one_at_a_time = ObjectStore(store.root, store.tmp_dir, workers=1)

    def swap(done: int, total: int) -> None:
        if not (out / "sub").is_symlink():
            (out / "sub").symlink_to(outside)

    with pytest.raises(UnsafePathError):
        checkout(one_at_a_time, tree, out, progress=swap)
    assert list(outside.iterdir()) == []
    assert (out / "a.txt").read_text() == "first"


@pytest.mark.parametrize("path", [".git/hooks/post-checkout", "a/.git/config", ".GIT/config", ".git./x",
                                  "b/.modelkeep/config.toml", "git~1/config"])
def test_git_and_keep_folders_are_never_written(store: ObjectStore, tmp_path: Path, path: str) -> None:
    oid = store.put_bytes(b"#!/bin/sh\n")
    entries = [TreeEntry(path, oid, 10, 0o755, "blob"), TreeEntry("ok.txt", oid, 10, 0o644, "blob")]
    tree = write_tree(store, entries)
    with pytest.raises(UnsafePathError):
        checkout(store, tree, tmp_path / "out")
    assert snapshot(tmp_path / "out") == {}


def test_protected_folders_are_never_written(store: ObjectStore, tmp_path: Path) -> None:
    oid = store.put_bytes(b"x")
    rel = os.path.relpath(store.object_path(oid), tmp_path)  # k/objects/ab/cdef...
    tree = write_tree(store, [TreeEntry(rel, oid, 1, 0o644, "blob")])
    before = store.object_path(oid).stat()
    with pytest.raises(UnsafePathError):
        checkout(store, tree, tmp_path, protected=[store.root])
    with pytest.raises(UnsafePathError):
        checkout(store, tree, store.root / "sub", protected=[store.root])
    after = store.object_path(oid).stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


def test_a_root_keeps_dest_from_being_a_symlink(store: ObjectStore, src: Path, tmp_path: Path) -> None:
    tree = add_path(store, src).tree_id
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    repo.mkdir()
    outside.mkdir()
    (repo / "models").symlink_to(outside)
    checkout(store, tree, repo / "real", root=repo)
    assert snapshot(repo / "real") == snapshot(src)
    with pytest.raises(UnsafePathError):
        checkout(store, tree, repo / "models", root=repo)
    assert list(outside.iterdir()) == []


def test_a_mode_fix_never_follows_a_symlink_made_during_checkout(store: ObjectStore, tmp_path: Path) -> None:
    """A file already in place only needs its mode fixed: that chmod must not reach outside either."""
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("first")
    (src / "sub" / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(src / "sub" / "run.sh", 0o755)
    tree = add_path(store, src).tree_id
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    (outside / "run.sh").write_text("#!/bin/sh\n")  # same bytes, mode 0644
    os.chmod(outside / "run.sh", 0o644)

    def swap(done: int, total: int) -> None:
        if not (out / "sub").is_symlink():
            (out / "sub").symlink_to(outside)

    with pytest.raises(UnsafePathError):
        checkout(ObjectStore(store.root, store.tmp_dir, workers=1), tree, out, progress=swap)
    assert stat.S_IMODE((outside / "run.sh").stat().st_mode) == 0o644


def test_a_symlinked_folder_is_refused_before_anything_is_written_even_pointing_inside(
    store: ObjectStore, src: Path, tmp_path: Path
) -> None:
    tree = add_path(store, src).tree_id
    out = tmp_path / "out"
    (out / "real").mkdir(parents=True)
    (out / "sub").symlink_to(out / "real")
    with pytest.raises(UnsafePathError, match="symlink"):
        checkout(store, tree, out)
    assert snapshot(out) == {}
    (out / "sub").unlink()
    (out / "sub").write_text("a file where a folder goes")
    with pytest.raises(InvalidInputError, match="is a file"):
        checkout(store, tree, out)
    assert snapshot(out) == {"sub": (b"a file where a folder goes", 0o644)}
