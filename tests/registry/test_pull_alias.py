"""`pull NAME@ALIAS` brings the alias and its history, so `NAME@ALIAS` works here afterwards."""

from __future__ import annotations

from pathlib import Path

from support import cli_run, pass_validation

from modelkeep.keep import Keep


def test_pulling_an_alias_sets_it_here_with_its_history(tmp_path: Path, make_model) -> None:
    a = Keep.init(tmp_path / "a")
    remote = str(tmp_path / "remote")
    a.add_remote("origin", remote)
    src = make_model(tmp_path / "m")
    a.register("bert", src)
    (src / "model.bin").write_bytes(b"retrained")
    a.register("bert", src)
    pass_validation(a, "bert@1.0.0", "bert@1.0.1")  # production is protected
    a.set_alias("bert", "production", "1.0.0", reason="first release")
    a.set_alias("bert", "production", "1.0.1", reason="better accuracy")
    a.push()
    moves = [m.to_dict() for m in a.alias_history("bert", "production")]

    b = Keep.init(tmp_path / "b")
    b.add_remote("origin", remote)
    b.pull(["bert@1.0.0"])
    b.pull(["bert@production"])
    assert b.resolve("bert@production").version == "1.0.1"
    assert [m.to_dict() for m in b.alias_history("bert", "production")] == moves
    first_move = moves[0]["moved_at"]
    assert b.resolve("bert@production", at=first_move).version == "1.0.0"

    c = tmp_path / "c"  # the reproduction, on the command line
    cli_run("init", str(c))
    cli_run("--keep", str(c), "remote", "add", "origin", remote)
    cli_run("--keep", str(c), "pull", "bert@production")
    cli_run("--keep", str(c), "checkout", "bert@production", str(tmp_path / "serving"))
    assert (tmp_path / "serving" / "model.bin").read_bytes() == b"retrained"
    history = Keep.open(c).alias_history("bert", "production")
    assert [(m.version, m.moved_at, m.reason) for m in history] == [
        ("1.0.1", moves[1]["moved_at"], "better accuracy")]  # moves to versions not here wait
    a.close()
    b.close()


def test_an_alias_set_here_wins_over_the_remote(tmp_path: Path, make_model) -> None:
    a = Keep.init(tmp_path / "a")
    b = Keep.init(tmp_path / "b")
    for k in (a, b):
        k.add_remote("origin", str(tmp_path / "remote"))
    src = make_model(tmp_path / "m")
    a.register("bert", src)
    pass_validation(a, "bert@1.0.0")
    a.set_alias("bert", "production", "1.0.0")
    a.push()
    b.pull(["bert@1.0.0"])
    (src / "model.bin").write_bytes(b"local")
    b.register("bert", src)
    pass_validation(b, "bert@1.0.1")
    b.set_alias("bert", "production", "1.0.1")
    b.pull(["bert@production"])
    assert b.resolve("bert@production").version == "1.0.1"
    assert len(b.alias_history("bert", "production")) == 1
    a.close()
    b.close()


def test_a_forged_alias_history_is_refused_and_nothing_adopted(tmp_path: Path, make_model) -> None:
    import json

    import pytest

    from modelkeep.errors import AliasNotFoundError, RemoteRecordInvalidError

    a = Keep.init(tmp_path / "a")
    remote = tmp_path / "remote"
    a.add_remote("origin", str(remote))
    a.register("bert", make_model(tmp_path / "m"))
    pass_validation(a, "bert@1.0.0")
    a.set_alias("bert", "production", "1.0.0", reason="first release")
    a.push()
    path = remote / "aliases" / "bert.json"
    genuine = json.loads(path.read_text())
    forged_moves = [
        {"author": "mallory\nverified by: security team"},  # a forged line in `alias history`
        {"moved_at": "not a time"},
        {"version": "../../../x"},
        {"reason": "x" * 5000},
    ]
    for change in forged_moves:
        doc = json.loads(json.dumps(genuine))
        doc["history"][0].update(change)
        path.write_text(json.dumps(doc))
        b = Keep.init(tmp_path / f"b{forged_moves.index(change)}")
        b.add_remote("origin", str(remote))
        with pytest.raises(RemoteRecordInvalidError):
            b.pull(["bert@production"])
        with pytest.raises(AliasNotFoundError):
            b.alias_history("bert", "production")
