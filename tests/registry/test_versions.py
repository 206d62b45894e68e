"""Registering, listing and resolving versions, on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import math

import pytest

from modelkeep.errors import (
    InvalidMetricError,
    InvalidNameError,
    InvalidVersionError,
    ModelNotFoundError,
    PathNotFoundError,
    VersionExistsError,
    VersionNotFoundError,
)


def test_register_numbers_versions_by_bump(any_keep, make_model, tmp_path):
    model = make_model(tmp_path / "m")
    first = any_keep.register("bert", model)
    assert first.version == "1.0.0"
    (model / "model.bin").write_bytes(b"weights-v2")
    assert any_keep.register("bert", model, bump="minor").version == "1.1.0"
    (model / "model.bin").write_bytes(b"weights-v3")
    assert any_keep.register("bert", model).version == "1.1.1"
    (model / "model.bin").write_bytes(b"weights-v4")
    assert any_keep.register("bert", model, bump="major").version == "2.0.0"
    assert [v.version for v in any_keep.versions("bert")] == ["1.0.0", "1.1.0", "1.1.1", "2.0.0"]


def test_explicit_versions_are_ordered_by_semver_precedence(any_keep, make_model, tmp_path):
    model = make_model(tmp_path / "m")
    for v in ["1.0.0", "1.0.0-rc.1", "1.0.0-alpha", "1.0.0-alpha.1", "0.9.0", "1.0.0-beta.11",
              "1.0.0-beta.2"]:
        any_keep.register("m", model, version=v)
    assert [v.version for v in any_keep.versions("m")] == [
        "0.9.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta.2", "1.0.0-beta.11",
        "1.0.0-rc.1", "1.0.0",
    ]
    assert any_keep.resolve("m@latest").version == "1.0.0"
    assert any_keep.resolve("m").version == "1.0.0"


def test_latest_skips_prereleases_unless_only_prereleases(keep, make_model, tmp_path):
    model = make_model(tmp_path / "m")
    keep.register("m", model, version="2.0.0-rc.1")
    assert keep.resolve("m@latest").version == "2.0.0-rc.1"
    keep.register("m", model, version="1.5.0")
    assert keep.resolve("m@latest").version == "1.5.0"


def test_versions_are_immutable(any_keep, make_model, tmp_path):
    model = make_model(tmp_path / "m")
    any_keep.register("m", model, version="1.0.0")
    with pytest.raises(VersionExistsError, match="immutable"):
        any_keep.register("m", model, version="1.0.0")
    assert len(any_keep.versions("m")) == 1


def test_params_and_metrics_are_in_the_snapshot(keep, make_model, tmp_path):
    info = keep.register("m", make_model(tmp_path / "m"), params={"lr": "0.001", "opt": "adam",
                                                                  "epochs": "3"},
                         metrics={"acc": "0.93", "loss": "nan"})
    view = keep.show(info.ref)
    assert view["params"] == {"lr": 0.001, "opt": "adam", "epochs": 3}
    assert view["metrics"]["acc"] == 0.93 and math.isnan(view["metrics"]["loss"])
    assert view["metadata"]["identity"]["version"] == "1.0.0"
    assert view["metadata"]["components"]["artifacts"]["tree"] == info.tree_id


def test_appended_metric_and_note_do_not_change_the_snapshot(keep, make_model, tmp_path):
    info = keep.register("m", make_model(tmp_path / "m"), metrics={"acc": 0.9})
    before = keep.show(info.ref)["metadata"]
    keep.add_metric(info.ref, "acc", 0.95)
    keep.add_note(info.ref, "re-evaluated on the new test set")
    view = keep.show(info.ref)
    assert view["metadata"] == before
    assert view["metrics"]["acc"] == 0.95
    assert [r["kind"] for r in view["records"]] == ["metric", "note"]


def test_checkout_restores_byte_for_byte(keep, make_model, tmp_path):
    model = make_model(tmp_path / "m", weights=bytes(range(256)) * 1000,
                       extra={"sub/dir/tok.txt": b"vocab"})
    info = keep.register("m", model)
    dest = tmp_path / "out"
    keep.checkout(info.ref, dest)
    for rel in ["model.bin", "config.json", "sub/dir/tok.txt"]:
        assert (dest / rel).read_bytes() == (model / rel).read_bytes()


def test_register_a_single_file(keep, tmp_path):
    f = tmp_path / "w.onnx"
    f.write_bytes(b"onnx")
    info = keep.register("m", f)
    assert info.files == 1
    keep.checkout(info.ref, tmp_path / "out")
    assert (tmp_path / "out" / "w.onnx").read_bytes() == b"onnx"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"name": "bad name"}, InvalidNameError),
        ({"name": "-x"}, InvalidNameError),
        ({"version": "1.2"}, InvalidVersionError),
        ({"version": "v1.2.3"}, InvalidVersionError),
        ({"metrics": {"acc": "high"}}, InvalidMetricError),
    ],
)
def test_bad_input_writes_nothing(keep, make_model, tmp_path, kwargs, error):
    model = make_model(tmp_path / "m")
    name = kwargs.pop("name", "m")
    with pytest.raises(error):
        keep.register(name, model, **kwargs)
    assert keep.models() == []
    assert list(keep.store.iter_ids()) == []


def test_missing_path_is_a_clear_error(keep, tmp_path):
    with pytest.raises(PathNotFoundError, match="does not exist"):
        keep.register("m", tmp_path / "nope")
    assert keep.models() == []


def test_unknown_model_and_version_suggest_near_misses(keep, make_model, tmp_path):
    keep.register("bert-classifier", make_model(tmp_path / "m"))
    with pytest.raises(ModelNotFoundError, match="did you mean 'bert-classifier'"):
        keep.resolve("bert-clasifier@1.0.0")
    with pytest.raises(VersionNotFoundError) as info:
        keep.resolve("bert-classifier@1.0.1")
    assert info.value.code == "version_not_found" and info.value.exit_code == 3
    assert "modelkeep list bert-classifier" in info.value.hint


def test_diff_reports_params_metrics_and_files(keep, make_model, tmp_path):
    model = make_model(tmp_path / "m", extra={"old.txt": b"x"})
    a = keep.register("m", model, params={"lr": "0.1"}, metrics={"acc": 0.8})
    (model / "model.bin").write_bytes(b"changed")
    (model / "old.txt").unlink()
    (model / "new.txt").write_bytes(b"y")
    b = keep.register("m", model, bump="minor", params={"lr": "0.05"}, metrics={"acc": 0.9})
    d = keep.diff(a.ref, b.ref)
    assert [(c.key, c.old, c.new) for c in d.params] == [("lr", 0.1, 0.05)]
    assert [(c.key, c.old, c.new) for c in d.metrics] == [("acc", 0.8, 0.9)]
    assert d.files_added == ["new.txt"]
    assert d.files_removed == ["old.txt"]
    assert d.files_changed == ["model.bin"]
    assert keep.diff(a.ref, a.ref).empty


def test_version_asked_for_before_it_existed_says_when_it_was_registered(keep, make_model,
                                                                          tmp_path):
    info = keep.register("m", make_model(tmp_path / "m"))
    with pytest.raises(VersionNotFoundError, match="did not exist yet at 2020-01-01") as err:
        keep.resolve("m@1.0.0", at="2020-01-01T00:00:00.000000Z")
    assert info.created_at in err.value.message and "did you mean" not in err.value.message


def test_empty_note_is_refused(keep, make_model, tmp_path):
    from modelkeep.errors import InvalidInputError

    info = keep.register("m", make_model(tmp_path / "m"))
    with pytest.raises(InvalidInputError, match="needs some text"):
        keep.add_note(info.ref, "  ")
    assert keep.show(info.ref)["records"] == []
