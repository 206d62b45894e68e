"""Pointer files for Git: format, add (pointer + .gitignore + pin), restore, pins for gc."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelkeep.errors import InvalidInputError, ObjectNotFoundError, PathNotFoundError, UnsafePathError
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.pins import list_pins, split_pins
from modelkeep.storage.pointers import (
    Pointer,
    find_pointers,
    ignore_in_git,
    parse_pointer,
    pointer_for,
    read_pointer,
    restore,
    restore_all,
    target_for,
    track,
)
from modelkeep.storage.remotes import Remote
from modelkeep.storage.transfer import push_objects

ID = "5e" * 32


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return ObjectStore(tmp_path / "k" / "objects", tmp_path / "k" / "tmp")


@given(kind=st.sampled_from(["file", "folder"]), size=st.integers(0, 2**63), files=st.integers(0, 10**6),
       with_file=st.booleans())
def test_pointer_text_round_trips(kind: str, size: int, files: int, with_file: bool) -> None:
    p = Pointer(kind, ID, size, files, "9a" * 32 if with_file else None)  # type: ignore[arg-type]
    text = p.encode("model.safetensors")
    assert parse_pointer(text) == p
    assert text.startswith("# modelkeep pointer") and text.endswith("\n")


@pytest.mark.parametrize("text", [
    "", "hello", f"modelkeep-pointer 2\nkind file\ntree {ID}\nsize 1\nfiles 1\n",
    f"modelkeep-pointer 1\nkind blob\ntree {ID}\nsize 1\nfiles 1\n",
    "modelkeep-pointer 1\nkind file\ntree xyz\nsize 1\nfiles 1\n",
    f"modelkeep-pointer 1\nkind file\ntree {ID}\nsize -1\nfiles 1\n",
    f"modelkeep-pointer 1\nkind file\ntree {ID}\nfiles 1\n",
    f"modelkeep-pointer 1\nkind file\ntree {ID}\nfile nope\nsize 1\nfiles 1\n",
])
def test_malformed_pointers_are_refused_with_the_file_named(text: str) -> None:
    with pytest.raises(InvalidInputError, match="bad.mk is not a valid modelkeep pointer"):
        parse_pointer(text, "bad.mk")


def test_unknown_keys_are_ignored() -> None:
    text = f"modelkeep-pointer 1\nkind folder\ntree {ID}\nsize 3\nfiles 2\nlicense mit\n"
    assert parse_pointer(text) == Pointer("folder", ID, 3, 2)


def test_pointer_names_and_oversize_files(tmp_path: Path) -> None:
    assert pointer_for(Path("a/m.bin")) == Path("a/m.bin.mk")
    assert target_for(Path("a/m.bin.mk")) == Path("a/m.bin")
    with pytest.raises(InvalidInputError):
        target_for(Path("a/m.bin"))
    big = tmp_path / "big.mk"
    big.write_bytes(b"x" * 10_000)
    with pytest.raises(InvalidInputError, match="too large"):
        read_pointer(big)
    with pytest.raises(PathNotFoundError):
        read_pointer(tmp_path / "none.mk")


def test_gitignore_lines_are_added_once_and_escaped(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.pyc")
    assert ignore_in_git(tmp_path / "model.bin")
    assert not ignore_in_git(tmp_path / "model.bin")
    assert ignore_in_git(tmp_path / "#weird[1]*.bin")
    assert (tmp_path / ".gitignore").read_text() == "*.pyc\n/model.bin\n/\\#weird\\[1\\]\\*.bin\n"


def test_track_and_restore_a_file_and_a_folder(store: ObjectStore, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    weights = os.urandom(5 << 20)
    (repo / "model.bin").write_bytes(weights)
    (repo / "data" / "a.csv").write_text("x\n1\n")
    (repo / "data" / "b.csv").write_text("x\n2\n")
    pins = tmp_path / "k" / "pins"
    path, pointer = track(store, repo / "model.bin", pins)
    assert path == repo / "model.bin.mk" and pointer.kind == "file" and pointer.size == 5 << 20
    folder_path, folder = track(store, repo / "data", pins)
    assert folder.kind == "folder" and folder.files == 2 and folder.file_id is None
    assert (repo / ".gitignore").read_text() == "/model.bin\n/data\n"
    assert {p.tree_id for p in list_pins(pins)} == {pointer.tree_id, folder.tree_id}
    assert find_pointers(repo) == [folder_path, path]

    (repo / "model.bin").unlink()
    for f in (repo / "data").iterdir():
        f.unlink()
    restore(store, path)
    restore(store, folder_path)
    assert (repo / "model.bin").read_bytes() == weights
    assert (repo / "data" / "b.csv").read_text() == "x\n2\n"
    assert restore(store, path).files_written == 0  # already in place
    os.rename(path, repo / "renamed.bin.mk")  # a renamed pointer restores under its new name
    restore(store, repo / "renamed.bin.mk")
    assert (repo / "renamed.bin").read_bytes() == weights
    assert not [p for p in repo.iterdir() if "mk-restore" in p.name]


def test_track_refuses_bad_paths(store: ObjectStore, tmp_path: Path) -> None:
    (tmp_path / "a.mk").write_text("x")
    with pytest.raises(InvalidInputError, match="pointer file already"):
        track(store, tmp_path / "a.mk", tmp_path / "pins")
    with pytest.raises(PathNotFoundError):
        track(store, tmp_path / "missing", tmp_path / "pins")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("x")
    with pytest.raises(InvalidInputError, match=".git"):
        track(store, tmp_path / ".git" / "config", tmp_path / "pins")


def test_restore_all_pulls_only_when_something_is_missing(store: ObjectStore, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "m.bin").write_bytes(os.urandom(100_000))
    path, pointer = track(store, repo / "m.bin", tmp_path / "pins")
    remote = Remote("origin", f"memory://mk-{uuid.uuid4().hex}")
    push_objects(store, remote, [pointer.tree_id])

    clone = tmp_path / "clone"
    clone.mkdir()
    (clone / "m.bin.mk").write_bytes(path.read_bytes())
    other = ObjectStore(tmp_path / "k2" / "objects", tmp_path / "k2" / "tmp")
    with pytest.raises(ObjectNotFoundError, match="not in this keep") as err:
        restore_all(other, find_pointers(clone), tmp_path / "pins2")
    assert "modelkeep pull" in (err.value.hint or "")
    opened = []
    restored, stats = restore_all(other, find_pointers(clone), tmp_path / "pins2",
                                  remote=lambda: opened.append(1) or remote)
    assert restored == [str(clone / "m.bin.mk")] and stats is not None and stats.objects == 2
    assert (clone / "m.bin").read_bytes() == (repo / "m.bin").read_bytes()
    (clone / "m.bin").unlink()
    restored, stats = restore_all(other, find_pointers(clone), tmp_path / "pins2",
                                  remote=lambda: opened.append(1) or remote)
    assert stats is None and opened == [1]  # everything was here: the remote was not opened
    assert [p.tree_id for p in list_pins(tmp_path / "pins2")] == [pointer.tree_id]


def test_pins_keep_live_pointers_and_the_newest_per_path(store: ObjectStore, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    pins_dir = tmp_path / "pins"
    trees = []
    for i in range(4):
        (repo / "m.bin").write_text(f"state {i}")
        trees.append(track(store, repo / "m.bin", pins_dir)[1].tree_id)
        time.sleep(0.01)
    pins = list_pins(pins_dir)
    assert [p.tree_id for p in pins] == trees
    kept, released = split_pins(pins, keep=2)
    assert {p.tree_id for p in kept} == set(trees[2:])
    assert {p.tree_id for p in released} == set(trees[:2])
    (repo / "m.bin.mk").write_text(Pointer("file", trees[0], 7, 1).encode("m.bin"))  # git checkout
    kept, _ = split_pins(list_pins(pins_dir), keep=1)
    assert {p.tree_id for p in kept} == {trees[0], trees[3]}  # live, and the newest
    assert split_pins(pins, keep=0, keep_all=True)[1] == []


def test_track_with_sha256_keeps_it_and_shows_it(store: ObjectStore, tmp_path: Path) -> None:
    import hashlib

    from modelkeep.storage.lfs import known_sha256
    from modelkeep.storage.sha256index import Sha256Index
    from modelkeep.storage.tree import read_tree

    (tmp_path / "big.bin").write_bytes(os.urandom(5 << 20))  # chunked: kept in its manifest
    (tmp_path / "small.txt").write_text("small")  # one blob: kept in the index
    index = Sha256Index(tmp_path / "k" / "sha256")
    for name in ("big.bin", "small.txt"):
        path, pointer = track(store, tmp_path / name, tmp_path / "pins", sha256=index)
        want = hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
        assert pointer.sha256 == want and f"sha256 {want}" in path.read_text()
        assert read_pointer(path) == pointer
        entry = read_tree(store, pointer.tree_id)[0]
        assert known_sha256(store, entry, index) == want
    with pytest.raises(InvalidInputError, match="bad sha256"):
        parse_pointer(f"modelkeep-pointer 1\nkind file\ntree {ID}\nsha256 xyz\nsize 1\nfiles 1\n")


@pytest.mark.parametrize("name", [".git.mk", ".modelkeep.mk", "...mk", "..mk", ".GIT.mk", "a\\b.mk"])
def test_unsafe_pointer_names_are_refused_before_anything_is_fetched(
    store: ObjectStore, tmp_path: Path, name: str
) -> None:
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    (repo / "payload").mkdir()
    (repo / "payload" / "hooks").mkdir()
    (repo / "payload" / "hooks" / "post-checkout").write_text("#!/bin/sh\n")
    path, _ = track(store, repo / "payload", tmp_path / "pins")
    os.rename(path, repo / "sub" / name)
    (repo / "ok.bin").write_bytes(b"fine")
    track(store, repo / "ok.bin", tmp_path / "pins")
    (repo / "ok.bin").unlink()
    opened: list[int] = []
    with pytest.raises(UnsafePathError):
        restore_all(store, find_pointers(repo), tmp_path / "pins", root=repo,
                    remote=lambda: opened.append(1))  # type: ignore[arg-type, return-value]
    with pytest.raises(UnsafePathError):
        restore(store, repo / "sub" / name)
    assert opened == [] and not (repo / "ok.bin").exists()  # nothing fetched, nothing written
    assert sorted(p.name for p in (repo / "sub").iterdir()) == [name]


def test_restore_stays_below_its_root(store: ObjectStore, tmp_path: Path) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    (repo / "data").mkdir(parents=True)
    outside.mkdir()
    (repo / "data" / "a.csv").write_text("x\n")
    path, _ = track(store, repo / "data", tmp_path / "pins")
    os.rename(repo / "data", repo / "data-real")
    (repo / "data").symlink_to(outside)  # the target became a symlink leaving the repository
    with pytest.raises(UnsafePathError):
        restore(store, path, root=repo)
    assert list(outside.iterdir()) == []
    with pytest.raises(UnsafePathError):  # a pointer outside the root
        restore(store, path, root=repo / "data-real")


def test_a_folder_in_the_way_of_a_file_pointer_is_one_error(store: ObjectStore, tmp_path: Path) -> None:
    (tmp_path / "m.bin").write_bytes(b"w")
    path, _ = track(store, tmp_path / "m.bin", tmp_path / "pins")
    renamed = tmp_path / "n.bin.mk"
    os.rename(path, renamed)
    (tmp_path / "n.bin").mkdir()
    with pytest.raises(InvalidInputError, match="folder is in the way"):
        restore(store, renamed)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x").write_text("x")
    folder, _ = track(store, tmp_path / "data", tmp_path / "pins")
    os.rename(tmp_path / "data", tmp_path / "data-old")
    (tmp_path / "data").write_text("a file where the folder was")
    with pytest.raises(InvalidInputError, match="is a file"):
        restore(store, folder)
    assert not [p for p in tmp_path.iterdir() if "mk-restore" in p.name]
