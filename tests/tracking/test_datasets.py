"""Datasets as versions: the same bytes are one version from any run; usage is traced."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelkeep.errors import DatasetNotFoundError, PathNotFoundError
from modelkeep.keep import Keep


def _data(folder: Path, text: str = "a,b\n1,2\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "part-0.csv").write_text(text)
    return folder


def test_same_bytes_from_two_runs_are_one_version(keep: Keep, tmp_path: Path) -> None:
    first = _data(tmp_path / "a" / "train")
    copy = _data(tmp_path / "b" / "elsewhere")  # same bytes, another place and name
    with keep.start_run("m", capture=False) as r1:
        d1 = r1.log_dataset(first, role="train")
    with keep.start_run("m", capture=False) as r2:
        d2 = r2.log_dataset(copy, role="test", name="holdout")
    assert d1["tree"] == d2["tree"]
    listed = keep.datasets()
    assert len(listed) == 1 and listed[0]["runs"] == 2 and listed[0]["name"] == "train"
    usage = keep.dataset(d1["tree"][:8])
    assert {(u["run"], u["role"]) for u in usage["runs"]} == {(r1.id, "train"), (r2.id, "test")}


def test_changed_bytes_are_a_new_version_of_the_name(keep: Keep, tmp_path: Path) -> None:
    data = _data(tmp_path / "train")
    with keep.start_run("m", capture=False) as run:
        v1 = run.log_dataset(data)["tree"]
        (data / "part-1.csv").write_text("3,4\n")
        v2 = run.log_dataset(data)["tree"]
    assert v1 != v2
    assert [d["tree_id"] for d in keep.datasets("train")] == [v2, v1]
    assert keep.dataset("train")["tree_id"] == v2  # a name means its newest version


def test_usage_names_the_model_versions_trained_and_evaluated(any_keep: Keep, tmp_path: Path
                                                              ) -> None:
    keep = any_keep
    train = _data(tmp_path / "train")
    test = _data(tmp_path / "test", "x\n")
    (tmp_path / "w.bin").write_bytes(b"w")
    with keep.start_run("clf", capture=False) as run:
        run.log_dataset(train, role="train")
        run.log_dataset(test, role="test")
        version = run.register_model(tmp_path / "w.bin")
    trained = keep.dataset("train")["versions"]
    assert [(v["ref"], v["roles"], v["run"]) for v in trained] == [(version.ref, ["train"], run.id)]
    assert keep.dataset("test")["versions"][0]["roles"] == ["test"]


def test_version_registered_with_dataset_lineage_is_found(keep: Keep, tmp_path: Path) -> None:
    with keep.start_run("m", capture=False) as run:
        tree = run.log_dataset(_data(tmp_path / "d"))["tree"]
    (tmp_path / "w").write_bytes(b"w")
    keep.register("other", tmp_path / "w",
                  lineage={"datasets": [{"name": "d", "role": "validation", "tree": tree}]})
    refs = {v["ref"]: v["roles"] for v in keep.dataset(tree)["versions"]}
    assert refs == {"other@1.0.0": ["validation"]}


def test_missing_and_unknown(keep: Keep, tmp_path: Path) -> None:
    with keep.start_run("m", capture=False) as run, pytest.raises(PathNotFoundError,
                                                                  match="moved or deleted"):
        run.log_dataset(tmp_path / "vanished")
    with pytest.raises(DatasetNotFoundError):
        keep.dataset("nothing")
    with keep.start_run("m", capture=False) as run:
        run.log_dataset(_data(tmp_path / "train"))
    with pytest.raises(DatasetNotFoundError, match="did you mean 'train'"):
        keep.dataset("trian")
