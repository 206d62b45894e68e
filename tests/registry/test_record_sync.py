"""Appended records travel with their versions: push sends them, pull adds only the missing
ones (never twice), and a crafted records file on a remote is refused before anything is adopted.
Run on a folder remote and, through the real S3 protocol, on moto."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from s3server import isolate_aws, s3_server

from modelkeep.errors import RemoteRecordInvalidError
from modelkeep.keep import Keep
from modelkeep.registry.records import append_record

RECORDS = "records/m/1.0.0.json"


@pytest.fixture
def trio(tmp_path: Path) -> Iterator[tuple[Keep, Keep, Keep]]:
    keeps = tuple(Keep.init(tmp_path / n) for n in "abc")
    for k in keeps:
        k.add_remote("origin", str(tmp_path / "remote"))
    yield keeps  # type: ignore[misc]
    for k in keeps:
        k.close()


def facts(keep: Keep, ref: str = "m@1.0.0") -> list[tuple[Any, ...]]:
    return [(r["kind"], r["key"], json.dumps(r["value"], sort_keys=True), r["created_at"], r["author"])
            for r in keep.show(ref)["records"]]


def annotate(keep: Keep, ref: str = "m@1.0.0") -> None:
    """One record of each carried kind."""
    vid = keep.resolve(ref).id
    keep.add_note(ref, "trained on the March data")
    keep.add_metric(ref, "accuracy", 0.93)
    keep.add_metric(ref, "loss", float("nan"))
    append_record(keep.db, vid, "validation", "policy.yaml",
                  {"passed": True, "checks": [{"name": "accuracy >= 0.9", "passed": True, "value": 0.93}]},
                  keep.author)
    append_record(keep.db, vid, "model_card", "CARD.md", "---\nlicense: mit\n---\n# m\n", keep.author)
    append_record(keep.db, vid, "changelog", "CHANGELOG.md", "## m 1.0.0\n", keep.author)


def test_push_carries_every_kind_and_pull_adds_each_once(trio, make_model, tmp_path: Path) -> None:
    a, b, _ = trio
    a.register("m", make_model(tmp_path / "src"))
    annotate(a)
    pushed = a.push()
    assert pushed.records == 6 and pushed.to_dict()["records"] == 6
    assert a.push().records == 0  # the remote has them all: nothing sent again
    pulled = b.pull(["m@1.0.0"])
    assert pulled.records == 6
    assert facts(b) == facts(a)
    assert {r[0] for r in facts(b)} == {"note", "metric", "validation", "model_card", "changelog"}
    assert b.pull(["m@1.0.0"]).records == 0 and facts(b) == facts(a)  # idempotent
    assert b.show("m@1.0.0")["metrics"]["accuracy"] == 0.93


def test_a_later_record_reaches_a_keep_that_already_has_the_version(trio, make_model,
                                                                    tmp_path: Path) -> None:
    a, b, _ = trio
    a.register("m", make_model(tmp_path / "src"))
    a.add_metric("m@1.0.0", "accuracy", 0.90)
    a.push()
    b.pull(["m@1.0.0"])
    a.add_metric("m@1.0.0", "accuracy", 0.95)  # a newer evaluation
    assert a.push().records == 1
    assert b.pull(["m@1.0.0"]).records == 1
    assert b.show("m@1.0.0")["metrics"]["accuracy"] == 0.95
    assert len(facts(b)) == 2


def test_two_keeps_pushing_notes_to_one_version_both_reach_a_third(trio, make_model,
                                                                  tmp_path: Path) -> None:
    a, b, c = trio
    a.register("m", make_model(tmp_path / "src"))
    a.push()
    b.pull(["m@1.0.0"])
    a.add_note("m@1.0.0", "from a")
    b.add_note("m@1.0.0", "from b")
    a.push()
    assert b.push().records == 1  # merged with a's note, not written over it
    c.pull(["m@1.0.0"])
    assert sorted(r[2] for r in facts(c)) == ['"from a"', '"from b"']
    a.pull(["m@1.0.0"])
    assert sorted(r[2] for r in facts(a)) == ['"from a"', '"from b"']


def test_a_pulled_older_metric_does_not_hide_a_newer_local_one(trio, make_model, tmp_path: Path) -> None:
    a, b, _ = trio
    a.register("m", make_model(tmp_path / "src"))
    a.push()
    b.pull(["m@1.0.0"])
    a.add_metric("m@1.0.0", "accuracy", 0.80)  # older, pushed later
    b.add_metric("m@1.0.0", "accuracy", 0.99)  # newer, here already
    a.push()
    assert b.pull(["m@1.0.0"]).records == 1
    assert b.show("m@1.0.0")["metrics"]["accuracy"] == 0.99
    assert [r["value"] for r in b.show("m@1.0.0")["records"]] == [0.80, 0.99]  # by date


def test_a_local_record_a_pull_would_refuse_is_kept_here_with_a_note(trio, make_model,
                                                                      tmp_path: Path) -> None:
    a, b, _ = trio
    a.register("m", make_model(tmp_path / "src"))
    a.add_note("m@1.0.0", "fine")
    a.add_note("m@1.0.0", "bad \x1b[2J terminal")
    pushed = a.push()
    assert pushed.records == 1 and len(pushed.notes) == 1 and "not pushed" in pushed.notes[0]
    assert b.pull(["m@1.0.0"]).records == 1


def test_records_are_added_once_on_postgresql(trio, make_model, tmp_path: Path, pg_url: str) -> None:
    a, _, _ = trio
    a.register("m", make_model(tmp_path / "src"))
    annotate(a)
    a.push()
    pg = Keep.init(tmp_path / "pg", database_url=pg_url)
    try:
        pg.add_remote("origin", str(tmp_path / "remote"))
        assert pg.pull(["m@1.0.0"]).records == 6 and pg.pull(["m@1.0.0"]).records == 0
        assert facts(pg) == facts(a)
    finally:
        pg.close()


# -- crafted files -----------------------------------------------------------------------------

@pytest.fixture
def pushed(trio, make_model, tmp_path: Path) -> tuple[Keep, Keep, Path]:
    a, b, _ = trio
    a.register("m", make_model(tmp_path / "src"))
    a.add_note("m@1.0.0", "a note")
    a.push()
    return a, b, tmp_path / "remote"


def edit(remote: Path, change: Callable[[dict[str, Any]], Any]) -> None:
    doc = json.loads((remote / RECORDS).read_text())
    change(doc)
    (remote / RECORDS).write_text(json.dumps(doc))


def set_in_record(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda doc: doc["records"][0].__setitem__(key, value)


CRAFTED = [
    ("kind alias", set_in_record("kind", "alias")),
    ("kind inherit", set_in_record("kind", "inherit")),
    ("kind not text", set_in_record("kind", ["note"])),
    ("empty key", set_in_record("key", "")),
    ("key with newline", set_in_record("key", "a\nforged line")),
    ("long key", set_in_record("key", "k" * 251)),
    ("note with escape", set_in_record("value", "hi \x1b[2J")),
    ("note with bidi override", set_in_record("value", "abc \u202e fed")),
    ("note with carriage return", set_in_record("value", "ok\rforged")),
    ("empty note", set_in_record("value", "  ")),
    ("huge note", set_in_record("value", "x" * (65 << 10))),
    ("note as number", set_in_record("value", 7)),
    ("created in the future", set_in_record("created_at", "2999-01-01T00:00:00.000000Z")),
    ("created before the version", set_in_record("created_at", "2001-01-01T00:00:00.000000Z")),
    ("created not canonical", set_in_record("created_at", "2026-01-01T00:00:00Z")),
    ("author with newline", set_in_record("author", "eve\nforged")),
    ("author empty", set_in_record("author", "")),
    ("author too long", set_in_record("author", "e" * 201)),
    ("unknown record field", set_in_record("extra", 1)),
    ("missing record field", lambda doc: doc["records"][0].pop("author")),
    ("record not an object", lambda doc: doc["records"].__setitem__(0, "note")),
    ("records not a list", lambda doc: doc.__setitem__("records", {"0": {}})),
    ("too many records", lambda doc: doc.__setitem__("records", doc["records"] * 10_001)),
    ("other format", lambda doc: doc.__setitem__("format", "something")),
    ("newer version", lambda doc: doc.__setitem__("version", 2)),
    ("other model", lambda doc: doc.__setitem__("name", "other")),
    ("other number", lambda doc: doc.__setitem__("number", "1.0.1")),
    ("unknown top field", lambda doc: doc.__setitem__("x", 1)),
]


@pytest.mark.parametrize("label,change", CRAFTED, ids=[c[0] for c in CRAFTED])
def test_a_crafted_records_file_is_refused_and_nothing_is_adopted(pushed, label, change) -> None:
    a, b, remote = pushed
    edit(remote, change)
    with pytest.raises(RemoteRecordInvalidError) as caught:
        b.pull(["m@1.0.0"])
    err = caught.value
    assert err.code == "remote_record_invalid" and "\n" not in err.message
    assert err.fields["record"] == RECORDS and "appended records of m@1.0.0" in err.message
    assert b.models() == []  # the version itself was not adopted either


@pytest.mark.parametrize("value", ["0.9", True, None, [0.9], {"v": 1}])
def test_a_metric_that_is_not_a_number_is_refused(trio, make_model, tmp_path: Path, value) -> None:
    a, b, _ = trio
    a.register("m", make_model(tmp_path / "src"))
    a.add_metric("m@1.0.0", "accuracy", 0.5)
    a.push()
    edit(tmp_path / "remote", set_in_record("value", value))
    with pytest.raises(RemoteRecordInvalidError, match="is not a number"):
        b.pull(["m@1.0.0"])


@pytest.mark.parametrize("value", [["passed"], "passed", {"detail": "ok \x1b]0;title\x07"},
                                   {"k\x1b": 1}, {"big": "x" * (1 << 20)}])
def test_a_validation_that_is_not_a_clean_object_is_refused(trio, make_model, tmp_path: Path,
                                                            value) -> None:
    a, b, _ = trio
    a.register("m", make_model(tmp_path / "src"))
    append_record(a.db, a.resolve("m@1.0.0").id, "validation", "p.yaml", {"passed": False}, a.author)
    a.push()
    edit(tmp_path / "remote", set_in_record("value", value))
    with pytest.raises(RemoteRecordInvalidError):
        b.pull(["m@1.0.0"])
    assert b.models() == []


def test_records_that_are_not_json_or_too_large_are_refused(pushed) -> None:
    a, b, remote = pushed
    (remote / RECORDS).write_bytes(b"{not json")
    with pytest.raises(RemoteRecordInvalidError, match="not JSON"):
        b.pull(["m@1.0.0"])
    (remote / RECORDS).write_bytes(b" " * ((16 << 20) + 1))
    with pytest.raises(RemoteRecordInvalidError, match="larger than the limit"):
        b.pull(["m@1.0.0"])
    assert b.models() == []


def test_push_refuses_to_merge_into_a_crafted_remote_file(pushed) -> None:
    a, _, remote = pushed
    edit(remote, set_in_record("author", "eve\nforged"))
    a.add_note("m@1.0.0", "another")
    with pytest.raises(RemoteRecordInvalidError):
        a.push()


# -- the real S3 protocol ----------------------------------------------------------------------

@pytest.mark.s3
def test_records_travel_through_s3(tmp_path: Path, make_model, monkeypatch: pytest.MonkeyPatch) -> None:
    server = s3_server()
    isolate_aws(monkeypatch, tmp_path, server)
    url = f"s3://{server.new_bucket()}/team/models"
    a, b = Keep.init(tmp_path / "a"), Keep.init(tmp_path / "b")
    try:
        for k in (a, b):
            k.add_remote("origin", url, endpoint_url=server.endpoint, region="us-east-1")
        a.register("m", make_model(tmp_path / "src"))
        annotate(a)
        assert a.push().records == 6
        assert b.pull(["m@latest"]).records == 6
        assert facts(b) == facts(a)
        a.add_note("m@1.0.0", "after the first push")
        assert a.push().records == 1
        assert b.pull(["m@1.0.0"]).records == 1 and b.pull(["m@1.0.0"]).records == 0
        assert facts(b) == facts(a)
        remote = b.remote()
        remote.write_bytes(RECORDS, json.dumps({"format": "modelkeep.remote-records", "version": 1,
                                                "name": "m", "number": "1.0.0",
                                                "records": [{"kind": "note"}]}).encode())
        c = Keep.init(tmp_path / "c")
        c.add_remote("origin", url, endpoint_url=server.endpoint, region="us-east-1")
        with pytest.raises(RemoteRecordInvalidError):
            c.pull(["m@1.0.0"])
        assert c.models() == []
        c.close()
    finally:
        a.close()
        b.close()
