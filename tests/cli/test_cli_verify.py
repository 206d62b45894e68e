"""Integrity end to end, as a user meets it: a remote serving other bytes under a genuine file
id, corrupt objects, repair from a remote, and hard links only when asked."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file
from support import cli_run as run

from modelkeep.keep import Keep
from modelkeep.storage.manifest import FileManifest, read_manifest
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.remotes import Remote
from modelkeep.storage.transfer import push_objects
from modelkeep.storage.tree import TreeEntry, read_tree, write_tree


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A keep with bert@1.0.0 (a chunked weights file and a small config) pushed to a folder
    remote 'origin'."""
    monkeypatch.chdir(tmp_path)
    run("init")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.bin").write_bytes(os.urandom(6 << 20))
    (tmp_path / "model" / "config.json").write_text('{"layers": 2}')
    run("register", "bert", "model")
    run("remote", "add", "origin", str(tmp_path / "shared"))
    run("push")
    return tmp_path


def objects_of(keep_dir: Path, path: str) -> tuple[ObjectStore, TreeEntry]:
    k = Keep.open(keep_dir)
    try:
        tree = k.resolve("bert@1.0.0").tree_id
        return k.store, next(e for e in read_tree(k.store, tree) if e.path == path)
    finally:
        k.close()


def rot(store: ObjectStore, oid: str) -> None:
    path = store.object_path(oid)
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:  # the same size: only a hash can tell
        f.seek(min(100, path.stat().st_size - 3))
        f.write(b"rot")


def fresh_keep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.chdir(other)
    run("init")
    run("remote", "add", "origin", str(tmp_path / "shared"))
    return other


def test_a_remote_serving_other_chunks_under_the_genuine_file_id_is_refused(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The attack: the remote's record of bert@1.0.0 names a forged tree whose manifest claims
    the genuine weights' file id but lists other chunks."""
    attacker = ObjectStore(tmp_path / "attacker" / "objects", tmp_path / "attacker" / "tmp")
    (tmp_path / "evil").mkdir()
    (tmp_path / "evil" / "weights.bin").write_bytes(os.urandom(6 << 20))
    from modelkeep.storage.tree import add_path

    evil = read_tree(attacker, add_path(attacker, tmp_path / "evil").tree_id)[0]
    store, w = objects_of(project, "weights.bin")
    _, c = objects_of(project, "config.json")
    chunks = read_manifest(attacker, evil.oid).chunks
    liar = attacker.put_bytes(FileManifest(w.file_id, w.size, chunks).encode())
    attacker.put_bytes(store.get_bytes(c.oid))
    forged = write_tree(attacker, [c, TreeEntry("weights.bin", liar, w.size, 0o644, "manifest", w.file_id)])
    remote = Remote("origin", str(tmp_path / "shared"))
    push_objects(attacker, remote, [forged])
    record = tmp_path / "shared" / "versions" / "bert" / "1.0.0.json"
    doc = json.loads(record.read_text())
    os.chmod(record, 0o644)
    doc["metadata"]["components"]["artifacts"]["tree"] = forged  # a consistent forgery
    record.write_text(json.dumps({**doc, "tree_id": forged}))

    fresh_keep(tmp_path, monkeypatch)
    result = run("pull", "bert@1.0.0", code=5)
    assert "object_corrupt" in result.stderr or "weights.bin" in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(run("list", "--json").stdout) == []  # not registered
    report = json.loads(run("fsck", "--json", code=None).stdout)  # (objects nothing records)
    assert (report["corrupt"], report["inconsistent"], report["missing"]) == ([], [], [])
    keep = Keep.open(tmp_path / "other")
    try:
        assert not keep.store.has(forged)  # nothing of the lie is kept
    finally:
        keep.close()


def test_corrupt_objects_are_refused_then_repaired_from_the_remote(
        project: Path) -> None:
    store, w = objects_of(project, "weights.bin")
    chunk = read_manifest(store, w.oid).chunks[1][0]
    _, c = objects_of(project, "config.json")
    rot(store, chunk)
    store.object_path(c.oid).unlink()  # and one missing
    bad = run("checkout", "bert@1.0.0", "out", code=None)
    assert bad.exit_code in (3, 5) and "Traceback" not in bad.stderr
    assert not (project / "out" / "weights.bin").exists()
    found = json.loads(run("fsck", "--json", code=5).stdout)
    assert found["affected"] == ["bert@1.0.0"]
    repaired = json.loads(run("fsck", "--repair", "--json").stdout)
    assert repaired["ok"] is True and set(repaired["repaired"]) == {chunk, c.oid}
    run("checkout", "bert@1.0.0", "out")
    assert (project / "out" / "weights.bin").read_bytes() == (project / "model" / "weights.bin").read_bytes()


def test_reregistering_after_a_corrupt_read_is_not_broken_at_birth(project: Path) -> None:
    store, c = objects_of(project, "config.json")
    rot(store, c.oid)
    run("checkout", "bert@1.0.0", "out", code=5)
    run("register", "bert", "model", "--version", "1.0.1")
    run("checkout", "bert@1.0.1", "out2")
    assert (project / "out2" / "config.json").read_text() == '{"layers": 2}'


def test_no_verify_and_the_stat_cache(project: Path) -> None:
    store, c = objects_of(project, "config.json")
    rot(store, c.oid)
    run("checkout", "bert@1.0.0", "out", "--no-verify")  # the user's choice: bytes unchecked
    run("fsck", code=5)  # finds it and quarantines it
    run("fsck", "--repair")
    again = run("checkout", "bert@1.0.0", "out").stdout
    assert "1 written" in again  # the unverified file was not taken as in place
    assert (project / "out" / "config.json").read_text() == '{"layers": 2}'


def test_hard_links_only_when_asked_and_the_risk_is_stated(project: Path) -> None:
    help_text = " ".join(run("checkout", "--help").stdout.split())
    assert "root" in help_text and "default: auto" in help_text
    run("checkout", "bert@1.0.0", "out")
    store, c = objects_of(project, "config.json")
    assert (project / "out" / "config.json").stat().st_ino != store.object_path(c.oid).stat().st_ino
    with open(project / "out" / "config.json", "r+") as f:  # root ignores the mode anyway
        f.write("{}")
    run("fsck")


def test_partial_tensor_checkout_says_it_is_not_verified_as_a_whole(project: Path) -> None:
    rng = np.random.default_rng(0)
    tensors = {f"t{i}": rng.standard_normal((256, 256), dtype=np.float32) for i in range(80)}
    (project / "llm").mkdir()
    save_file(tensors, str(project / "llm" / "model.safetensors"))
    run("register", "llm", "llm")
    out = run("checkout", "llm@1.0.0", "part", "--tensor", "t1").stdout
    assert "not verified as a whole" in out and "model.safetensors" in out
    stats = json.loads(run("checkout", "llm@1.0.0", "part2", "--tensor", "t1", "--json").stdout)
    assert stats["unverified"] == ["model.safetensors"]


@pytest.mark.parametrize("link", ["copy", "auto", "hardlink"])
def test_pull_repairs_what_a_checkout_found_corrupt(project: Path, link: str) -> None:
    store, c = objects_of(project, "config.json")
    rot(store, c.oid)
    bad = run("checkout", "bert@1.0.0", "out", "--link", link, code=5)
    assert "fsck --repair" in bad.stderr and not (project / "out" / "config.json").exists()
    assert "1 objects" in run("pull", "bert@1.0.0").stdout  # no longer "already here"
    run("checkout", "bert@1.0.0", "out", "--link", link)
    assert (project / "out" / "config.json").read_text() == '{"layers": 2}'


def test_fsck_repair_reports_what_the_remote_cannot_supply(project: Path) -> None:
    (project / "model2").mkdir()
    (project / "model2" / "only-here.txt").write_text("never pushed")
    run("register", "local", "model2")
    store, c = objects_of(project, "config.json")
    rot(store, c.oid)
    k = Keep.open(project)
    try:
        only = read_tree(k.store, k.resolve("local@1.0.0").tree_id)[0].oid
    finally:
        k.close()
    rot(store, only)
    result = run("fsck", "--repair", code=5)
    assert f"repaired {c.oid}" in result.stdout and f"corrupt  {only}" in result.stdout
    assert "affected local@1.0.0" in result.stdout and "affected bert" not in result.stdout
