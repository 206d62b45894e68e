"""Retention: which versions keep their artifacts; gc end to end through the Keep."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from support import pass_validation

from modelkeep.keep import Keep
from modelkeep.registry.retention import RetentionPolicy, plan_retention, pruned_version_ids


def register(keep: Keep, tmp_path: Path, name: str, version: str, payload: bytes | None = None) -> str:
    folder = tmp_path / "src" / f"{name}-{version}"
    folder.mkdir(parents=True)
    (folder / "weights.bin").write_bytes(payload or f"{name} {version}".encode())
    return keep.register(name, folder, version=version).ref


def refs(versions: list) -> list[str]:
    return [v.ref for v in versions]


def test_the_policy_keeps_aliased_newest_stable_and_head(any_keep: Keep, tmp_path: Path) -> None:
    keep = any_keep  # gc and retention on SQLite and on the PostgreSQL server
    for v in ["1.0.0", "1.1.0", "1.2.0", "1.3.0", "2.0.0", "2.1.0-rc.1"]:
        register(keep, tmp_path, "bert", v)
    register(keep, tmp_path, "gpt", "0.1.0-alpha")
    pass_validation(keep, "bert@1.0.0")  # production is protected
    keep.set_alias("bert", "production", "1.0.0")
    plan = plan_retention(keep.db, RetentionPolicy(keep_stable=3, grace=0))
    assert refs(plan.kept) == ["bert@1.0.0", "bert@1.2.0", "bert@1.3.0", "bert@2.0.0",
                               "bert@2.1.0-rc.1", "gpt@0.1.0-alpha"]
    assert refs(plan.prune) == ["bert@1.1.0"]
    assert refs(plan_retention(keep.db, RetentionPolicy(keep_stable=1, grace=0)).prune) == [
        "bert@1.1.0", "bert@1.2.0", "bert@1.3.0"]
    assert plan_retention(keep.db, RetentionPolicy(keep_stable=0, keep_all=True, grace=0)).prune == []
    # versions registered within the grace period are kept whatever their rank
    assert plan_retention(keep.db, RetentionPolicy(keep_stable=0, grace=3600)).prune == []


def test_gc_prunes_then_fsck_is_clean_and_pull_restores(any_keep: Keep, tmp_path: Path) -> None:
    keep = any_keep  # gc and retention on SQLite and on the PostgreSQL server
    payloads = {v: os.urandom(3000) for v in ["1.0.0", "1.1.0", "1.2.0"]}
    for v, data in payloads.items():
        register(keep, tmp_path, "m", v, data)
    keep.add_remote("origin", str(tmp_path / "remote"))
    keep.push()
    dry = keep.gc(dry_run=True, grace=0, keep_stable=1)
    assert refs(dry.plan.prune) == ["m@1.0.0", "m@1.1.0"] and len(dry.sweep.deleted) == 4
    assert pruned_version_ids(keep.db) == set()
    before = set(keep.store.iter_ids())
    assert before >= set(dry.sweep.deleted)

    done = keep.gc(grace=0, keep_stable=1)
    assert sorted(done.sweep.deleted) == sorted(dry.sweep.deleted)
    assert done.sweep.bytes == dry.sweep.bytes > 6000
    assert len(pruned_version_ids(keep.db)) == 2
    assert keep.fsck().ok  # pruned versions are not "missing" anything
    records = keep.show("m@1.0.0")["records"]
    assert records[-1]["kind"] == "artifacts" and records[-1]["key"] == "pruned"
    assert [v.version for v in keep.versions("m")] == ["1.0.0", "1.1.0", "1.2.0"]  # metadata stays
    with pytest.raises(Exception, match="not in the store"):
        keep.checkout("m@1.0.0", tmp_path / "out")
    assert keep.gc(grace=0, keep_stable=1).sweep.deleted == []  # nothing left to do

    keep.pull(["m@1.0.0"])
    keep.checkout("m@1.0.0", tmp_path / "out")
    assert (tmp_path / "out" / "weights.bin").read_bytes() == payloads["1.0.0"]
    assert len(pruned_version_ids(keep.db)) == 1
    assert keep.show("m@1.0.0")["records"][-1]["key"] == "restored"
    assert keep.fsck().ok


def test_gc_keeps_what_tracking_tables_and_metadata_reference(keep: Keep, tmp_path: Path) -> None:
    register(keep, tmp_path, "m", "1.0.0")
    data_dir = tmp_path / "dataset"
    data_dir.mkdir()
    (data_dir / "train.csv").write_text("x,y\n1,2\n")
    from modelkeep.storage.tree import add_path

    dataset_tree = add_path(keep.store, data_dir).tree_id
    diff_blob = keep.store.put_bytes(b"diff --git a/train.py b/train.py\n")
    orphan = keep.store.put_bytes(b"nobody needs me")
    with keep.db.write():
        keep.db.execute("INSERT INTO datasets (tree_id, name, size, files, created_at, author) "
                        "VALUES (:t, 'd', 8, 1, '2026-01-01T00:00:00.000000Z', 'me')", {"t": dataset_tree})
        keep.db.execute(
            "INSERT INTO runs (uuid, name, status, author, started_at, host, code_json) VALUES "
            "('00000000-0000-0000-0000-000000000001', 'r', 'finished', 'me', "
            "'2026-01-01T00:00:00.000000Z', 'h', :code)",
            {"code": json.dumps({"commit": "a" * 40, "diff": diff_blob})})
    result = keep.gc(grace=0)
    assert result.sweep.deleted == [orphan]
    assert keep.store.has(dataset_tree) and keep.store.has(diff_blob)
    assert keep.fsck().ok


def test_gc_json_shape(keep: Keep, tmp_path: Path) -> None:
    register(keep, tmp_path, "m", "1.0.0")
    data = keep.gc(dry_run=True).to_dict()
    assert data["dry_run"] is True and data["objects"] == 0 and data["versions"]["kept"] == ["m@1.0.0"]
