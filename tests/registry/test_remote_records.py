"""Crafted records on a folder remote: pull validates each as strictly as local input, before
registering anything and before opening any file a record names."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support import cli_run, pass_validation

from modelkeep.errors import RemoteRecordInvalidError
from modelkeep.keep import Keep


@pytest.fixture
def pushed(tmp_path: Path, make_model: Callable[..., Path]) -> Iterator[tuple[Keep, Keep, Path]]:
    """Keep ``a`` pushed m@1.0.0 (alias production) to a folder remote; ``b`` is empty."""
    a = Keep.init(tmp_path / "a")
    b = Keep.init(tmp_path / "b")
    remote = tmp_path / "remote"
    for k in (a, b):
        k.add_remote("origin", str(remote))
    a.register("m", make_model(tmp_path / "src"), params={"lr": 0.1})
    pass_validation(a, "m@1.0.0")  # production is protected
    a.set_alias("m", "production", "1.0.0")
    a.push()
    yield a, b, remote
    a.close()
    b.close()


def rewrite(remote: Path, change: Callable[[dict[str, Any]], Any], rel: str = "versions/m/1.0.0.json"
            ) -> None:
    path = remote / rel
    rec = json.loads(path.read_text())
    change(rec)
    path.write_text(json.dumps(rec))


def refused(b: Keep, ref: str = "m@1.0.0", match: str | None = None) -> RemoteRecordInvalidError:
    with pytest.raises(RemoteRecordInvalidError, match=match) as caught:
        b.pull([ref])
    err = caught.value
    assert "remote 'origin'" in err.message and "\n" not in err.message
    assert err.fields["remote"] == "origin" and err.fields["record"].endswith(".json")
    assert b.models() == [] and list(b.store.iter_ids()) == []  # nothing adopted, nothing fetched
    return err


def set_field(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda rec: rec.__setitem__(key, value)


BAD_FIELDS = [
    ("created_at", "yesterday"),
    ("created_at", "2026-13-45T99:00:00.000000Z"),
    ("created_at", "2026-01-01T00:00:00"),
    ("created_at", 1700000000),
    ("author", "alice\nrun       forged"),
    ("author", "alice\x1b[2J"),
    ("author", ""),
    ("author", 7),
    ("files", "many"),
    ("files", -1),
    ("files", True),
    ("size", 10**30),
    ("size", 1.5),
    ("run_id", {"a": 1}),
    ("run_id", "not-a-run"),
    ("run_id", "../../../x"),
    ("tree_id", "0" * 63),
    ("name", "other"),
    ("number", "1.0.1"),
    ("format", "something-else"),
    ("version", 2),
]


@pytest.mark.parametrize(("key", "value"), BAD_FIELDS)
def test_a_record_with_a_bad_field_is_refused(pushed: tuple[Keep, Keep, Path], key: str,
                                              value: Any) -> None:
    _, b, remote = pushed
    rewrite(remote, set_field(key, value))
    err = refused(b, match="m@1.0.0")
    assert key in err.message


def test_a_record_with_an_unknown_field_is_refused(pushed: tuple[Keep, Keep, Path]) -> None:
    _, b, remote = pushed
    rewrite(remote, set_field("extra", 1))
    refused(b, match="extra")


@pytest.mark.parametrize("change", [
    lambda rec: rec["metadata"]["identity"].__setitem__("name", "other"),
    lambda rec: rec["metadata"]["identity"].__setitem__("version", "9.9.9"),
    lambda rec: rec["metadata"]["identity"].__setitem__("id", "other@9.9.9"),
    lambda rec: rec["metadata"]["identity"].__setitem__("created", "2020-01-01T00:00:00Z"),
    lambda rec: rec["metadata"]["components"]["artifacts"].__setitem__("tree", "a" * 64),
    lambda rec: rec["metadata"]["components"]["artifacts"].__setitem__("size_bytes", 1),
])
def test_metadata_describing_another_version_is_refused(pushed: tuple[Keep, Keep, Path],
                                                        change: Callable[[dict[str, Any]], Any]
                                                        ) -> None:
    _, b, remote = pushed
    rewrite(remote, change)
    refused(b, match="metadata")


@pytest.mark.parametrize("change", [
    lambda rec: rec["metadata"]["components"]["hyperparameters"].__setitem__("lr", [1]),
    lambda rec: rec["metadata"]["identity"].__setitem__("description", "\ud800"),
    lambda rec: rec.__setitem__("metadata", "text"),
])
def test_metadata_that_fails_the_schema_is_refused(pushed: tuple[Keep, Keep, Path],
                                                   change: Callable[[dict[str, Any]], Any]) -> None:
    _, b, remote = pushed
    rewrite(remote, change)
    refused(b, match="metadata")


def test_deeply_nested_metadata_is_refused(pushed: tuple[Keep, Keep, Path]) -> None:
    _, b, remote = pushed
    path = remote / "versions/m/1.0.0.json"
    text = path.read_text()
    deep = "[" * 5000 + "]" * 5000
    path.write_text(text.replace('"hyperparameters": {', f'"hyperparameters": {{"deep": {deep}, ', 1))
    refused(b, match="nested")


def test_a_huge_integer_or_a_non_json_record_is_refused(pushed: tuple[Keep, Keep, Path]) -> None:
    _, b, remote = pushed
    path = remote / "versions/m/1.0.0.json"
    good = path.read_text()
    path.write_text(good.replace('"files": ', '"files": ' + "9" * 5000 + ", \"x\": ", 1))
    refused(b, match="digits")
    path.write_bytes(b"\xff\xfe not json")
    refused(b, match="not JSON")
    path.write_text("[1, 2]")
    refused(b)


def test_an_oversized_record_is_refused(pushed: tuple[Keep, Keep, Path]) -> None:
    from modelkeep.limits import MAX_RECORD_BYTES

    _, b, remote = pushed
    path = remote / "versions/m/1.0.0.json"
    path.write_bytes(path.read_bytes() + b" " * MAX_RECORD_BYTES)
    refused(b, match="larger than")


def test_an_unknown_run_is_not_linked(pushed: tuple[Keep, Keep, Path]) -> None:
    _, b, remote = pushed
    foreign = str(uuid.uuid4())
    rewrite(remote, set_field("run_id", foreign))
    got = b.pull(["m@1.0.0"])
    assert got.registered == ["m@1.0.0"]
    assert b.resolve("m@1.0.0").run_id is None  # runs do not travel: no link to a run not here
    assert any(foreign in note for note in got.notes)


# -- aliases files --------------------------------------------------------------------------


def test_a_non_json_aliases_file_is_refused(pushed: tuple[Keep, Keep, Path]) -> None:
    _, b, remote = pushed
    (remote / "aliases/m.json").write_bytes(b"{not json")
    refused(b, "m@production", match="aliases")


@pytest.mark.parametrize("aliases", [
    "not a mapping",
    {"production": 1},
    {"production": "../../../x"},
    {"production": "1.0.0\n"},
    {"bad alias\n": "1.0.0"},
])
def test_a_bad_aliases_file_is_refused(pushed: tuple[Keep, Keep, Path], aliases: Any) -> None:
    _, b, remote = pushed
    rewrite(remote, set_field("aliases", aliases), rel="aliases/m.json")
    refused(b, "m@production", match="aliases")


def test_an_alias_target_outside_the_remote_is_never_opened(pushed: tuple[Keep, Keep, Path],
                                                            tmp_path: Path) -> None:
    _, b, remote = pushed
    rewrite(remote, set_field("aliases", {"production": "../../../x"}), rel="aliases/m.json")
    # what the target path would reach: a folder, so opening it would fail differently
    (tmp_path / "x.json").mkdir()
    err = refused(b, "m@production", match="alias 'production': '../../../x' is not a version")
    assert err.code == "remote_record_invalid"


def test_version_files_that_are_not_version_numbers_are_refused(pushed: tuple[Keep, Keep, Path]
                                                                ) -> None:
    _, b, remote = pushed
    (remote / "versions/m/latest-junk.json").write_text("{}")
    refused(b, "m@latest", match="latest-junk.json")


def test_push_checks_the_remote_record_it_compares_with(pushed: tuple[Keep, Keep, Path]) -> None:
    a, _, remote = pushed
    rewrite(remote, set_field("files", "many"))
    with pytest.raises(RemoteRecordInvalidError, match="files"):
        a.push()


def test_the_cli_says_one_line(pushed: tuple[Keep, Keep, Path], monkeypatch: pytest.MonkeyPatch,
                               tmp_path: Path) -> None:
    _, _, remote = pushed
    rewrite(remote, set_field("size", 10**30))
    monkeypatch.chdir(tmp_path / "b")
    result = cli_run("pull", "m@1.0.0", code=2)
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ") and "remote 'origin'" in lines[0] and "size" in lines[0]
    assert lines[1].startswith("hint: ") and len(lines) == 2


@pytest.mark.parametrize(("key", "delta"), [("files", 1), ("size", -1)])
def test_a_record_disagreeing_with_its_tree_is_refused(pushed: tuple[Keep, Keep, Path], key: str,
                                                       delta: int) -> None:
    _, b, remote = pushed

    def change(rec: dict[str, Any]) -> None:
        rec[key] += delta
        if key == "size":
            rec["metadata"]["components"]["artifacts"]["size_bytes"] += delta

    rewrite(remote, change)
    with pytest.raises(RemoteRecordInvalidError, match="its tree holds"):
        b.pull(["m@1.0.0"])
    assert b.models() == []


def test_a_valid_record_still_pulls_and_the_cli_notes_an_unknown_run(
        pushed: tuple[Keep, Keep, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _, _, remote = pushed
    foreign = str(uuid.uuid4())
    rewrite(remote, set_field("run_id", foreign))
    monkeypatch.chdir(tmp_path / "b")
    result = cli_run("pull", "m@production")
    assert "registered m@1.0.0" in result.stdout
    assert f"note: m@1.0.0: its run {foreign}" in result.stderr
    view = json.loads(cli_run("show", "m@1.0.0", "--json").stdout)
    assert view["run_id"] is None and view["params"] == {"lr": 0.1}
