import json
import os
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelkeep.errors import (
    InvalidInputError,
    ObjectNotFoundError,
    PathNotFoundError,
    UnsafePathError,
)
from modelkeep.storage.hashing import hash_bytes
from modelkeep.storage.ingest import known
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.reachable import reachable_objects
from modelkeep.storage.statcache import RACY_NS, StatCache
from modelkeep.storage.tree import (
    TreeEntry,
    add_path,
    decode_tree,
    diff_trees,
    encode_tree,
    read_tree,
    write_tree,
)
from modelkeep.storage.walk import scan


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return ObjectStore(tmp_path / "k" / "objects", tmp_path / "k" / "tmp")


def make_folder(root: Path) -> Path:
    (root / "sub" / "deep").mkdir(parents=True)
    (root / "config.json").write_text('{"a": 1}')
    (root / "sub" / "weights.bin").write_bytes(os.urandom(3000))
    (root / "sub" / "deep" / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(root / "sub" / "deep" / "run.sh", 0o700)
    return root


def test_add_folder_records_relative_posix_paths(store: ObjectStore, tmp_path: Path) -> None:
    src = make_folder(tmp_path / "model")
    info = add_path(store, src)
    entries = read_tree(store, info.tree_id)
    assert [e.path for e in entries] == ["config.json", "sub/deep/run.sh", "sub/weights.bin"]
    assert info.files == 3 and info.size == sum(e.size for e in entries)
    modes = {e.path: e.mode for e in entries}
    assert modes == {"config.json": 0o644, "sub/deep/run.sh": 0o755, "sub/weights.bin": 0o644}
    for e in entries:
        assert e.kind == "blob" and e.file_id == e.oid
        assert store.get_bytes(e.oid) == (src / e.path).read_bytes()


def test_tree_id_is_reproducible(store: ObjectStore, tmp_path: Path) -> None:
    a = make_folder(tmp_path / "a")
    b = tmp_path / "b"
    b.mkdir()
    for f in sorted(a.rglob("*"), reverse=True):  # create in another order
        target = b / f.relative_to(a)
        if f.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.read_bytes())
            os.chmod(target, f.stat().st_mode)
    assert add_path(store, a).tree_id == add_path(store, b).tree_id


def test_tree_blob_is_canonical_json(store: ObjectStore, tmp_path: Path) -> None:
    info = add_path(store, make_folder(tmp_path / "m"))
    raw = store.get_bytes(info.tree_id)
    doc = json.loads(raw)
    assert raw == json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    assert doc["format"] == "modelkeep.tree"


def test_single_file_is_a_one_entry_tree(store: ObjectStore, tmp_path: Path) -> None:
    f = tmp_path / "model.onnx"
    f.write_bytes(b"onnx")
    entries = read_tree(store, add_path(store, f).tree_id)
    assert [(e.path, e.oid) for e in entries] == [("model.onnx", hash_bytes(b"onnx"))]


def test_many_files_and_a_large_one_go_through_the_thread_pool(store: ObjectStore, tmp_path: Path) -> None:
    """Several groups of small files, or a large file, use the pool (one small group does not:
    a one-file register starts no thread); the tree is the same either way."""
    from modelkeep.storage.chunkers import CHUNK_THRESHOLD

    folder = tmp_path / "many"
    folder.mkdir()
    contents = {f"f{i:03}.txt": f"file {i}".encode() for i in range(300)}  # three groups
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    entries = read_tree(store, add_path(store, folder).tree_id)
    assert [(e.path, e.oid, e.kind) for e in entries] == [
        (name, hash_bytes(data), "blob") for name, data in sorted(contents.items())]
    big = os.urandom(CHUNK_THRESHOLD + 1)
    (folder / "weights.bin").write_bytes(big)
    with_big = {e.path: e for e in read_tree(store, add_path(store, folder).tree_id)}
    assert with_big["weights.bin"].kind == "manifest"
    assert with_big["weights.bin"].file_id == hash_bytes(big)
    assert {p: e.oid for p, e in with_big.items() if p != "weights.bin"} == {
        name: hash_bytes(data) for name, data in contents.items()}


def test_empty_folder_is_an_empty_tree(store: ObjectStore, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    info = add_path(store, tmp_path / "empty")
    assert read_tree(store, info.tree_id) == [] and info.files == 0


def test_missing_path(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(PathNotFoundError):
        add_path(store, tmp_path / "nope")


def test_symlink_outside_is_stored_as_content_like_cp_L(store: ObjectStore, tmp_path: Path) -> None:
    src = make_folder(tmp_path / "m")
    (tmp_path / "blob").write_text("weights")
    (src / "linked.bin").symlink_to(tmp_path / "blob")
    entries = {e.path: e for e in read_tree(store, add_path(store, src).tree_id)}
    assert entries["linked.bin"].size == len("weights")
    assert store.get_bytes(entries["linked.bin"].oid) == b"weights"


def test_symlink_inside_is_stored_as_content(store: ObjectStore, tmp_path: Path) -> None:
    src = make_folder(tmp_path / "m")
    (src / "alias.json").symlink_to(src / "config.json")
    (src / "sub2").symlink_to(src / "sub" / "deep")
    paths = {e.path: e.oid for e in read_tree(store, add_path(store, src).tree_id)}
    assert paths["alias.json"] == paths["config.json"]
    assert paths["sub2/run.sh"] == paths["sub/deep/run.sh"]


def test_symlink_loop_and_dangling(store: ObjectStore, tmp_path: Path) -> None:
    src = make_folder(tmp_path / "m")
    (src / "sub" / "loop").symlink_to(src)
    with pytest.raises(UnsafePathError):
        add_path(store, src)
    (src / "sub" / "loop").unlink()
    (src / "dangling").symlink_to(src / "gone")
    with pytest.raises(PathNotFoundError):
        add_path(store, src)


def test_special_files_are_refused(store: ObjectStore, tmp_path: Path) -> None:
    src = make_folder(tmp_path / "m")
    os.mkfifo(src / "pipe")
    with pytest.raises(InvalidInputError):
        add_path(store, src)


def test_exclude_globs(store: ObjectStore, tmp_path: Path) -> None:
    src = make_folder(tmp_path / "m")
    info = add_path(store, src, exclude=["sub/deep", "*.json"])
    assert [e.path for e in read_tree(store, info.tree_id)] == ["sub/weights.bin"]


def test_stat_cache_skips_rehash_and_notices_changes(store: ObjectStore, tmp_path: Path) -> None:
    src = make_folder(tmp_path / "m")
    time.sleep(RACY_NS / 1e9 + 0.01)  # not racy: changed well before the hashing
    cache = StatCache(tmp_path / "cache")
    first = add_path(store, src, stat_cache=cache)
    assert len(StatCache(tmp_path / "cache")) == 3
    seen: list[tuple[int, int]] = []
    store.delete(hash_bytes(b"#!/bin/sh\n"))  # gone from the store: must be stored again
    assert (
        add_path(
            store, src, stat_cache=StatCache(tmp_path / "cache"), progress=lambda d, t: seen.append((d, t))
        )
        == first
    )
    assert store.has(hash_bytes(b"#!/bin/sh\n")) and seen[-1][0] == seen[-1][1]
    assert len(known(store, StatCache(tmp_path / "cache"), scan(src))) == 3  # no file re-read
    (src / "config.json").write_text('{"a": 2}')
    second = add_path(store, src, stat_cache=StatCache(tmp_path / "cache"))
    assert diff_trees(store, first.tree_id, second.tree_id).changed == ["config.json"]


def test_diff_trees(store: ObjectStore, tmp_path: Path) -> None:
    src = make_folder(tmp_path / "m")
    a = add_path(store, src).tree_id
    (src / "config.json").unlink()
    (src / "new.txt").write_text("n")
    os.chmod(src / "sub" / "weights.bin", 0o755)
    d = diff_trees(store, a, add_path(store, src).tree_id)
    assert (d.added, d.removed, d.changed) == (["new.txt"], ["config.json"], ["sub/weights.bin"])
    assert diff_trees(store, a, a) == type(d)([], [], [])


def test_reachable_objects(store: ObjectStore, tmp_path: Path) -> None:
    info = add_path(store, make_folder(tmp_path / "m"))
    ids = reachable_objects(store, [info.tree_id])
    assert ids == set(store.iter_ids())
    with pytest.raises(ObjectNotFoundError):
        reachable_objects(store, [hash_bytes(b"no such tree")])


def test_a_blob_is_not_a_tree(store: ObjectStore) -> None:
    for data in (b"not json", b"[]", b'{"format":"modelkeep.tree","version":2,"entries":[]}'):
        with pytest.raises(InvalidInputError):
            read_tree(store, store.put_bytes(data))


@pytest.mark.parametrize("path", ["../etc/passwd", "/abs", "a//b", "a/./b", "a\\b", ""])
def test_unsafe_paths_in_a_tree_are_refused(path: str) -> None:
    row = {"path": path, "oid": hash_bytes(b""), "size": 0, "mode": 0o644, "kind": "blob"}
    doc = {"format": "modelkeep.tree", "version": 1, "entries": [row]}
    with pytest.raises(InvalidInputError):
        decode_tree(json.dumps(doc).encode())


def test_bad_entries_and_duplicates_are_refused(store: ObjectStore) -> None:
    oid = hash_bytes(b"")
    good = {"path": "a", "oid": oid, "size": 0, "mode": 0o644, "kind": "blob"}
    for patch in ({"size": -1}, {"mode": 0o777}, {"kind": "x"}, {"oid": "zz"}, {"size": "1"}):
        doc = {"format": "modelkeep.tree", "version": 1, "entries": [{**good, **patch}]}
        with pytest.raises(InvalidInputError):
            decode_tree(json.dumps(doc).encode())
    dup = {"format": "modelkeep.tree", "version": 1, "entries": [good, good]}
    with pytest.raises(InvalidInputError):
        decode_tree(json.dumps(dup).encode())
    with pytest.raises(InvalidInputError):
        encode_tree([TreeEntry("a", oid, 0, 0o644, "blob")] * 2)


def test_write_tree_roundtrip(store: ObjectStore) -> None:
    entries = [TreeEntry("b/ü.txt", hash_bytes(b"x"), 1, 0o644, "blob")]
    assert read_tree(store, write_tree(store, entries)) == entries


@settings(max_examples=40)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=12),
            st.booleans(),
            st.integers(min_value=0, max_value=2**53),
            st.sampled_from([0o644, 0o755]),
        ),
        max_size=6,
        unique_by=lambda t: t[0],
    )
)
def test_fast_encoder_is_canonical_json(rows: list[tuple[str, bool, int, int]]) -> None:
    oid, fid = hash_bytes(b"o"), hash_bytes(b"f")
    entries = [
        TreeEntry(p, oid, n, m, "manifest" if man else "blob", fid if man else oid) for p, man, n, m in rows
    ]
    ref = [
        {"path": e.path, "oid": e.oid, "size": e.size, "mode": e.mode, "kind": e.kind}
        | ({"file": e.file_id} if e.kind == "manifest" else {})
        for e in sorted(entries, key=lambda e: e.path)
    ]
    doc = {"format": "modelkeep.tree", "version": 1, "entries": ref}
    expected = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert encode_tree(entries) == expected


@pytest.mark.parametrize("crafted", [
    b'{"format": "modelkeep.tree", "version": 1, "entries": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"format": "modelkeep.tree", "version": 1, "entries": [], "x": ' + b"9" * 5000 + b"}",
])
def test_a_crafted_tree_is_invalid_not_a_crash(crafted: bytes) -> None:
    with pytest.raises(InvalidInputError, match="not a tree"):
        decode_tree(crafted)
