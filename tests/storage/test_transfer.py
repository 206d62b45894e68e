"""push and pull of objects: only what is missing, verified, resumable, partial, on every backend."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from s3server import isolate_aws, s3_server

from modelkeep.errors import CorruptObjectError, ObjectNotFoundError
from modelkeep.storage import transfer
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.remotes import Remote
from modelkeep.storage.transfer import pull_objects, push_objects, waves
from modelkeep.storage.tree import add_path, read_tree


def new_store(root: Path) -> ObjectStore:
    return ObjectStore(root / "objects", root / "tmp", workers=2)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    root = tmp_path / "model"
    (root / "sub").mkdir(parents=True)
    (root / "weights.bin").write_bytes(os.urandom(5 << 20))  # chunked: a manifest and chunks
    (root / "config.json").write_text('{"layers": 2}')
    (root / "sub" / "vocab.txt").write_text("a\nb\n")
    return root


@pytest.fixture(params=["local", "memory"])
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Remote:
    if request.param == "local":
        return Remote("origin", str(tmp_path / "remote"))
    return Remote("origin", f"memory://mk-{uuid.uuid4().hex}")


def remote_ids(remote: Remote) -> set[str]:
    return remote.list_objects()


def test_push_sends_only_what_is_missing_and_pull_restores_everything(
        tmp_path: Path, model: Path, remote: Remote) -> None:
    a = new_store(tmp_path / "a")
    tree = add_path(a, model).tree_id
    seen: list[tuple[int, int]] = []
    first = push_objects(a, remote, [tree], progress=lambda d, t: seen.append((d, t)))
    assert first.objects == len(set(a.iter_ids())) and first.present == 0
    assert seen[-1][0] == seen[-1][1] == first.bytes
    assert remote_ids(remote) == set(a.iter_ids())
    again = push_objects(a, remote, [tree])
    assert (again.objects, again.bytes, again.present) == (0, 0, first.objects)

    b = new_store(tmp_path / "b")
    got = pull_objects(b, remote, [tree])
    assert got.objects == first.objects and set(b.iter_ids()) == set(a.iter_ids())
    assert all(b.verify(oid) for oid in b.iter_ids())
    assert pull_objects(b, remote, [tree]).objects == 0


def test_waves_put_leaves_before_manifests_before_trees(tmp_path: Path, model: Path) -> None:
    s = new_store(tmp_path / "s")
    tree = add_path(s, model).tree_id
    leaves, manifests, trees = waves(s, [tree])
    assert list(trees) == [tree]
    assert len(manifests) == 1 and not set(manifests) & set(leaves)
    assert set(leaves) | set(manifests) | set(trees) == set(s.iter_ids())


def test_a_second_version_sends_only_its_new_chunks(tmp_path: Path, model: Path, remote: Remote) -> None:
    s = new_store(tmp_path / "s")
    v1 = add_path(s, model).tree_id
    push_objects(s, remote, [v1])
    (model / "config.json").write_text('{"layers": 3}')
    v2 = add_path(s, model).tree_id
    second = push_objects(s, remote, [v1, v2])
    assert second.objects == 2  # the new config blob and the new tree
    assert second.bytes < 1000


def test_partial_pull_fetches_only_the_chosen_files(tmp_path: Path, model: Path, remote: Remote) -> None:
    a = new_store(tmp_path / "a")
    tree = add_path(a, model).tree_id
    push_objects(a, remote, [tree])
    b = new_store(tmp_path / "b")
    stats = pull_objects(b, remote, [tree], patterns=["sub"])
    vocab = next(e for e in read_tree(a, tree) if e.path == "sub/vocab.txt")
    assert set(b.iter_ids()) == {tree, vocab.oid} and stats.bytes < 1000
    rest = pull_objects(b, remote, [tree])
    assert set(b.iter_ids()) == set(a.iter_ids()) and rest.present == 2


def test_a_corrupt_remote_object_is_named_refused_and_not_stored(
        tmp_path: Path, model: Path, remote: Remote) -> None:
    a = new_store(tmp_path / "a")
    tree = add_path(a, model).tree_id
    push_objects(a, remote, [tree])
    leaves = waves(a, [tree])[0]
    bad = sorted(leaves)[0]
    if remote.is_local:
        os.chmod(remote.object_key(bad), 0o644)
    remote.fs.pipe_file(remote.object_key(bad), b"not the right bytes")
    b = new_store(tmp_path / "b")
    with pytest.raises(CorruptObjectError, match=bad) as err:
        pull_objects(b, remote, [tree])
    assert err.value.fields["objects"] == [bad] and err.value.hint
    assert not b.has(bad)
    assert set(b.iter_ids()) == set(a.iter_ids()) - {bad}  # everything else arrived
    assert list(b.tmp_dir.iterdir()) == []


def test_a_corrupt_local_object_is_never_pushed(tmp_path: Path, model: Path, remote: Remote) -> None:
    a = new_store(tmp_path / "a")
    tree = add_path(a, model).tree_id
    blob = next(e.oid for e in read_tree(a, tree) if e.path == "config.json")
    path = a.object_path(blob)
    os.chmod(path, 0o644)
    path.write_text('{"layers": 9}')
    with pytest.raises(CorruptObjectError, match=blob):
        push_objects(a, remote, [tree])
    assert blob not in remote_ids(remote)
    assert tree not in remote_ids(remote)  # the tree waits for all its pieces


def test_pulling_what_the_remote_lacks_is_object_not_found(tmp_path: Path, model: Path,
                                                          remote: Remote) -> None:
    a = new_store(tmp_path / "a")
    tree = add_path(a, model).tree_id
    remote.check(create=True)
    with pytest.raises(ObjectNotFoundError, match="not on remote 'origin'"):
        pull_objects(new_store(tmp_path / "b"), remote, [tree])


def test_pushing_an_object_missing_locally_names_it(tmp_path: Path, model: Path, remote: Remote) -> None:
    a = new_store(tmp_path / "a")
    tree = add_path(a, model).tree_id
    blob = next(e.oid for e in read_tree(a, tree) if e.path == "config.json")
    a.delete(blob)
    with pytest.raises(ObjectNotFoundError, match=blob):
        push_objects(a, remote, [tree])


def test_an_interrupted_push_resumes_with_what_is_missing(tmp_path: Path, model: Path,
                                                         remote: Remote) -> None:
    a = new_store(tmp_path / "a")
    tree = add_path(a, model).tree_id
    calls = []

    def stop(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        push_objects(a, remote, [tree], progress=stop, workers=1)
    partial = remote_ids(remote)
    assert 0 < len(partial) < len(set(a.iter_ids())) and tree not in partial
    rest = push_objects(a, remote, [tree])
    assert rest.present == len(partial) and remote_ids(remote) == set(a.iter_ids())
    if remote.is_local:
        assert list(Path(remote.key("tmp")).iterdir()) == []


def test_large_objects_travel_as_files(tmp_path: Path, model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transfer, "SMALL_OBJECT", 1024)  # every chunk counts as large
    remote = Remote("origin", f"memory://mk-{uuid.uuid4().hex}")
    a = new_store(tmp_path / "a")
    tree = add_path(a, model).tree_id
    push_objects(a, remote, [tree])
    b = new_store(tmp_path / "b")
    pull_objects(b, remote, [tree])
    assert set(b.iter_ids()) == set(a.iter_ids()) and list(b.tmp_dir.iterdir()) == []


@pytest.mark.s3
@pytest.mark.slow
def test_push_and_pull_through_s3(tmp_path: Path, model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = s3_server()
    isolate_aws(monkeypatch, tmp_path, server)
    monkeypatch.setattr(transfer, "SMALL_OBJECT", 512 << 10)  # exercise multipart-sized uploads too
    remote = Remote("origin", f"s3://{server.new_bucket()}/team",
                    {"endpoint_url": server.endpoint, "region": "us-east-1"})
    a = new_store(tmp_path / "a")
    tree = add_path(a, model).tree_id
    sent = push_objects(a, remote, [tree])
    assert sent.objects == len(set(a.iter_ids()))
    assert push_objects(a, remote, [tree]).objects == 0
    b = new_store(tmp_path / "b")
    assert pull_objects(b, remote, [tree]).objects == sent.objects
    assert set(b.iter_ids()) == set(a.iter_ids())


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.dictionaries(st.sampled_from(["a", "b", "c/d", "c/e", "f.bin"]), st.binary(max_size=3000),
                             min_size=1))
def test_round_trip_property(tmp_path: Path, files: dict[str, bytes]) -> None:
    case = tmp_path / uuid.uuid4().hex
    for rel, data in files.items():
        (case / "src" / rel).parent.mkdir(parents=True, exist_ok=True)
        (case / "src" / rel).write_bytes(data)
    a, b = new_store(case / "a"), new_store(case / "b")
    remote = Remote("origin", f"memory://mk-{uuid.uuid4().hex}")
    tree = add_path(a, case / "src").tree_id
    push_objects(a, remote, [tree])
    pull_objects(b, remote, [tree])
    assert {oid: b.get_bytes(oid) for oid in b.iter_ids()} == {oid: a.get_bytes(oid) for oid in a.iter_ids()}
