"""Git LFS: pointer format (spec v1), export with kept SHA-256, import with SHA-256 checks."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from modelkeep.errors import CorruptObjectError, InvalidInputError, ObjectNotFoundError, UnsafePathError
from modelkeep.storage.lfs import (
    LfsPointer,
    export_lfs,
    find_lfs_objects,
    import_lfs,
    lfs_object_path,
    lfs_objects_for,
    parse_lfs_pointer,
)
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.sha256index import Sha256Index
from modelkeep.storage.tree import TreeEntry, add_path, read_tree, write_tree

SHA = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393"


@pytest.fixture
def model(tmp_path: Path) -> Path:
    root = tmp_path / "model"
    (root / "sub dir").mkdir(parents=True)
    (root / "weights.bin").write_bytes(os.urandom(5 << 20))
    (root / "config.json").write_text('{"a": 1}')
    (root / "sub dir" / "tok.txt").write_text("tokens")
    return root


def git_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def test_pointer_format_follows_the_spec() -> None:
    text = f"version https://git-lfs.github.com/spec/v1\noid sha256:{SHA}\nsize 12345\n".encode()
    assert parse_lfs_pointer(text) == LfsPointer(SHA, 12345)
    assert LfsPointer(SHA, 12345).encode() == text
    extra = text + b"x-custom value\n"  # extension keys after size are allowed
    assert parse_lfs_pointer(extra) == LfsPointer(SHA, 12345)
    for bad in [b"", text.replace(b"sha256:", b"md5:"), text.replace(b"12345", b"-1"),
                text.replace(b"12345", b"012"), text[:-1], b"x" * 2000, text.upper()]:
        assert parse_lfs_pointer(bad) is None


def test_the_lfs_folder_is_found_from_inside_a_repository(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo")
    (repo / "a" / "b").mkdir(parents=True)
    assert find_lfs_objects(repo / "a" / "b") == (repo / ".git" / "lfs" / "objects").resolve()
    assert find_lfs_objects(tmp_path) is None
    with pytest.raises(InvalidInputError, match="not inside a Git repository") as err:
        lfs_objects_for(tmp_path, None)
    assert "--objects" in (err.value.hint or "")
    assert lfs_objects_for(tmp_path, tmp_path / "o") == tmp_path / "o"
    assert lfs_object_path(Path("o"), SHA) == Path("o/4d/7a") / SHA


def test_export_writes_pointers_objects_and_attributes(
        store: ObjectStore, index: Sha256Index, model: Path, tmp_path: Path) -> None:
    tree = add_path(store, model).tree_id
    repo = git_repo(tmp_path / "repo")
    objects = lfs_objects_for(repo, None)
    report = export_lfs(store, tree, repo, objects, index)
    assert report.files == 3 and report.objects_written == 3
    for rel in ["weights.bin", "config.json", "sub dir/tok.txt"]:
        content = (model / rel).read_bytes()
        sha = hashlib.sha256(content).hexdigest()
        assert parse_lfs_pointer((repo / rel).read_bytes()) == LfsPointer(sha, len(content))
        assert lfs_object_path(objects, sha).read_bytes() == content
    attributes = (repo / ".gitattributes").read_text().splitlines()
    assert '"/sub dir/tok.txt" filter=lfs diff=lfs merge=lfs -text' in attributes
    assert len(attributes) == 3
    # the SHA-256 is kept: a second export reads no content and adds no attribute line
    entries = {e.path: e for e in read_tree(store, tree)}
    assert index.get(entries["weights.bin"].file_id) == hashlib.sha256(
        (model / "weights.bin").read_bytes()).hexdigest()
    again = export_lfs(store, tree, repo, objects, index)
    assert again.objects_written == 0
    assert (repo / ".gitattributes").read_text().splitlines() == attributes


def test_export_never_overwrites_a_real_file(store: ObjectStore, index: Sha256Index, model: Path,
                                             tmp_path: Path) -> None:
    tree = add_path(store, model).tree_id
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "config.json").write_text("my own file")
    with pytest.raises(InvalidInputError, match="not a Git LFS pointer"):
        export_lfs(store, tree, dest, tmp_path / "objects", index)
    assert (dest / "config.json").read_text() == "my own file"
    assert not (dest / "weights.bin").exists()


def test_export_never_writes_into_git_folders(store: ObjectStore, index: Sha256Index,
                                             tmp_path: Path) -> None:
    """A crafted version naming .git/hooks/... must not plant files in the repository's .git."""
    oid = store.put_bytes(b"#!/bin/sh\n")
    tree = write_tree(store, [TreeEntry(".git/hooks/pre-commit", oid, 10, 0o755, "blob"),
                              TreeEntry("ok.bin", oid, 10, 0o644, "blob")])
    repo = git_repo(tmp_path / "repo")
    before = sorted(p.name for p in (repo / ".git" / "hooks").iterdir())
    with pytest.raises(UnsafePathError):
        export_lfs(store, tree, repo, lfs_objects_for(repo, None), index)
    assert sorted(p.name for p in (repo / ".git" / "hooks").iterdir()) == before
    assert not (repo / "ok.bin").exists()


def test_import_round_trips_an_export(store: ObjectStore, index: Sha256Index, model: Path,
                                      tmp_path: Path) -> None:
    tree = add_path(store, model).tree_id
    repo = git_repo(tmp_path / "repo")
    export_lfs(store, tree, repo, lfs_objects_for(repo, None), index)
    (repo / "README.md").write_text("not in LFS")
    other = ObjectStore(tmp_path / "k2" / "objects", tmp_path / "k2" / "tmp")
    other_index = Sha256Index(tmp_path / "k2" / "sha256")
    seen: list[tuple[int, int]] = []
    report = import_lfs(other, repo, lfs_objects_for(repo, None), other_index,
                        progress=lambda d, t: seen.append((d, t)))
    assert report.lfs_files == 3 and report.files == 5  # + README.md and .gitattributes
    got = {e.path: e for e in read_tree(other, str(report.tree_id))}
    want = {e.path: e for e in read_tree(store, tree)}
    for rel, e in want.items():
        assert got[rel].file_id == e.file_id and got[rel].size == e.size
    assert got["README.md"].size == len("not in LFS")
    assert other_index.get(want["weights.bin"].file_id) == index.get(want["weights.bin"].file_id)
    assert seen[-1][0] == seen[-1][1] == report.bytes


def test_import_checks_every_object_and_stores_nothing_on_a_mismatch(
        store: ObjectStore, index: Sha256Index, model: Path, tmp_path: Path) -> None:
    tree = add_path(store, model).tree_id
    repo = git_repo(tmp_path / "repo")
    objects = lfs_objects_for(repo, None)
    export_lfs(store, tree, repo, objects, index)
    sha = parse_lfs_pointer((repo / "config.json").read_bytes()).sha256  # type: ignore[union-attr]
    obj = lfs_object_path(objects, sha)
    obj.write_text('{"a": 2}')  # same size, other content
    other = ObjectStore(tmp_path / "k2" / "objects", tmp_path / "k2" / "tmp")
    with pytest.raises(CorruptObjectError, match="config.json") as err:
        import_lfs(other, repo, objects, Sha256Index(tmp_path / "k2" / "sha256"))
    assert err.value.fields["oid"] == sha and "git lfs fetch" in (err.value.hint or "")
    assert list(other.iter_ids()) == [] and list(other.tmp_dir.iterdir()) == []
    obj.unlink()
    with pytest.raises(ObjectNotFoundError, match="not in"):
        import_lfs(other, repo, objects, Sha256Index(tmp_path / "k2" / "sha256"))
    assert list(other.iter_ids()) == []
