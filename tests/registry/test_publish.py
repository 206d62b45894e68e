"""Versions over remotes: a fresh keep pulls what another pushed, by number, latest or alias."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

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
