"""Versions over remotes: a fresh keep pulls what another pushed, by number, latest or alias."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import pass_validation

from modelkeep.errors import ConflictError, InvalidInputError, VersionNotFoundError
from modelkeep.keep import Keep


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Keep, Keep]]:
    a = Keep.init(tmp_path / "a")
    b = Keep.init(tmp_path / "b")
    for k in (a, b):
        k.add_remote("origin", str(tmp_path / "remote"))
    yield a, b
    a.close()
    b.close()


def model(tmp_path: Path, tag: str) -> Path:
    root = tmp_path / "src" / tag
    (root / "tokenizer").mkdir(parents=True)
    (root / "weights.bin").write_bytes(os.urandom(5 << 20))
    (root / "tokenizer" / "vocab.txt").write_text(f"vocab {tag}")
    return root


def test_a_fresh_keep_pulls_by_number_latest_and_alias(pair: tuple[Keep, Keep], tmp_path: Path) -> None:
    a, b = pair
    v1 = a.register("bert", model(tmp_path, "1"), params={"lr": 0.1})
    a.register("bert", model(tmp_path, "2"), version="2.0.0")
    pass_validation(a, "bert@1.0.0")  # production is protected
    a.set_alias("bert", "production", "1.0.0")
    pushed = a.push()
    assert pushed.versions == ["bert@1.0.0", "bert@2.0.0"] and pushed.transfer.objects > 0

    got = b.pull(["bert@production"])
    assert got.registered == ["bert@1.0.0"] and got.transfer.objects > 0
    mine = b.resolve("bert@1.0.0")
    assert (mine.tree_id, mine.created_at, mine.author) == (v1.tree_id, v1.created_at, v1.author)
    assert b.show("bert@1.0.0")["params"] == {"lr": 0.1}
    assert b.pull(["bert@latest"]).registered == ["bert@2.0.0"]  # the remote's is higher
    assert b.pull(["bert@2.0.0"]).registered == []  # known now: nothing to register
    b.checkout("bert@1.0.0", tmp_path / "out")
    assert (tmp_path / "out" / "tokenizer" / "vocab.txt").read_text() == "vocab 1"
    assert b.fsck().ok


def test_push_sends_only_new_objects_and_named_versions(pair: tuple[Keep, Keep], tmp_path: Path) -> None:
    a, b = pair
    src = model(tmp_path, "1")
    a.register("m", src)
    first = a.push(["m@1.0.0"])
    (src / "tokenizer" / "vocab.txt").write_text("vocab 1b")
    a.register("m", src, version="1.0.1")
    second = a.push(["m@1.0.1"])
    assert second.versions == ["m@1.0.1"]
    assert second.transfer.objects == 2 and second.transfer.bytes < 1000  # new vocab blob + tree
    assert second.transfer.present == first.transfer.objects - 2  # all but the old tree and vocab
    assert a.push().transfer.objects == 0
    with pytest.raises(VersionNotFoundError, match="remote 'origin'"):
        b.pull(["m@9.9.9"])


def test_two_keeps_disagreeing_on_a_number_conflict_before_sending(
        pair: tuple[Keep, Keep], tmp_path: Path) -> None:
    a, b = pair
    a.register("m", model(tmp_path, "a"))
    b.register("m", model(tmp_path, "b"))
    a.push()
    before = a.remote().list_objects()
    with pytest.raises(ConflictError, match="already has m@1.0.0 with other artifacts"):
        b.push()
    assert a.remote().list_objects() == before


def test_partial_pull_then_complete(pair: tuple[Keep, Keep], tmp_path: Path) -> None:
    a, b = pair
    a.register("m", model(tmp_path, "1"))
    a.push()
    got = b.pull(["m@1.0.0"], patterns=["tokenizer"])
    assert got.registered == ["m@1.0.0"] and got.transfer.bytes < 10_000
    b.checkout("m@1.0.0", tmp_path / "out", patterns=["tokenizer"])
    assert (tmp_path / "out" / "tokenizer" / "vocab.txt").read_text() == "vocab 1"
    assert len(list(b.store.iter_ids())) == 2  # the tree and the vocab blob, nothing else
    rest = b.pull(["m@1.0.0"])
    assert rest.transfer.bytes > 5 << 20 and rest.registered == []
    assert b.fsck().ok


def test_a_damaged_remote_record_is_refused(pair: tuple[Keep, Keep], tmp_path: Path) -> None:
    a, b = pair
    a.register("m", model(tmp_path, "1"))
    a.push()
    a.remote().write_bytes("versions/m/1.0.0.json", b"{not json")
    with pytest.raises(InvalidInputError, match="damaged"):
        b.pull(["m@1.0.0"])
    assert b.models() == []


def _grep(root: Path, needle: bytes) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_secrets_in_old_or_pulled_records_are_shown_and_sent_by_none(
        pair: tuple[Keep, Keep], tmp_path: Path) -> None:
    """A version stored with a secret (by a modelkeep that did not mask) shows, exports and pushes
    none; a crafted record carrying one is adopted masked."""
    import json

    from modelkeep.registry.semver import Version
    from modelkeep.registry.versions import insert_version

    a, b = pair
    v1 = a.register("bert", model(tmp_path, "1"))
    meta = a.show("bert@1.0.0")["metadata"]
    meta["identity"].update(id="bert@1.1.0", version="1.1.0")
    meta["components"]["pipeline"] = {"command": ["python", "t.py", "--api-key", "SECRET-OLD"]}
    meta["components"]["hyperparameters"] = {"hf_token": "SECRET-PARAM", "lr": 0.1}
    with a.db.write():  # as an older modelkeep stored it, unmasked
        model_id = a.db.scalar("SELECT id FROM models WHERE name = 'bert'")
        insert_version(a.db, int(model_id), "bert", Version.parse("1.1.0"),
                       created_at=v1.created_at, author="x", tree_id=v1.tree_id, size=v1.size,
                       files=v1.files, run_id=None, metadata=meta)
    shown = a.show("bert@1.1.0")
    assert shown["metadata"]["components"]["pipeline"]["command"][-1] == "***"
    assert "SECRET" not in json.dumps(shown.to_dict())
    for fmt in ("json", "yaml", "proto"):
        assert b"SECRET" not in a.export("bert@1.1.0", fmt)
    a.push()
    assert _grep(tmp_path / "remote", b"SECRET") == []

    record = json.loads((tmp_path / "remote" / "versions" / "bert" / "1.1.0.json").read_text())
    record["number"] = "1.2.0"
    record["metadata"]["identity"].update(id="bert@1.2.0", version="1.2.0")
    record["metadata"]["components"]["pipeline"]["command"][-1] = "--token=SECRET-CRAFTED"
    (tmp_path / "remote" / "versions" / "bert" / "1.2.0.json").write_text(json.dumps(record))
    assert b.pull(["bert@1.2.0"]).registered == ["bert@1.2.0"]
    b.close()
    assert _grep(tmp_path / "b" / ".modelkeep", b"SECRET") == []
