"""Where `reproduce` puts each part, and the metadata it refuses (real store, real trees)."""

from __future__ import annotations

import platform
import sys
from pathlib import Path
from typing import Any

import pytest

from modelkeep.errors import InvalidInputError, UnsafePathError
from modelkeep.keep import Keep
from modelkeep.storage.tree import add_path
from modelkeep.tracking.reproduce import lay_out
from modelkeep.tracking.reproduce_check import environment_notes
from modelkeep.tracking.reproduce_run import Workbench
from modelkeep.tracking.reproduce_run import reproduce as reproduce_with


def tree(keep: Keep, root: Path, files: dict[str, str]) -> str:
    """Store ``files`` (path -> text) as one tree."""
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return add_path(keep.store, root).tree_id


def reproduce(keep: Keep, **options: Any) -> Any:
    """``reproduce`` on this keep's parts, as Keep.reproduce hands them over."""
    bench = Workbench(keep.db, keep.store, keep.own_folders, keep.settings.reopen_env(),
                      keep.start_run)
    return reproduce_with(bench, **options)


def meta(**components: Any) -> dict[str, Any]:
    return {"identity": {"id": "m@1.0.0", "name": "m", "version": "1.0.0"},
            "components": components}


def layout(keep: Keep, dest: Path, data: dict[str, Any],
           environment: dict[str, Any] | None = None) -> Any:
    return lay_out(keep.store, ref="m@1.0.0", meta=data, environment=environment, dest=dest,
                   protected=keep.own_folders)


def test_a_clashing_code_snapshot_stays_in_code_and_goes_on_pythonpath(any_keep: Keep,
                                                                       tmp_path: Path) -> None:
    keep = any_keep  # the re-run is a tracked run: on SQLite and on PostgreSQL
    code = tree(keep, tmp_path / "c", {"helper.py": "VALUE = 42\n", "train.py": "# old\n"})
    pipeline = tree(keep, tmp_path / "p", {"train.py": "import helper\n"
                                           "assert helper.VALUE == 42\n"})
    data = meta(code={"snapshot": code},
                pipeline={"tree": pipeline, "command": ["python", "train.py"]})
    report = reproduce(keep, ref="m@1.0.0", name="m", tree_id=pipeline, run_id=None, meta=data,
                       dest=tmp_path / "out", run=True)
    where = {p.what: p.path for p in report.layout.parts}
    assert where["code"] == "code" and where["pipeline"] == "."
    assert (tmp_path / "out" / "code" / "train.py").read_text() == "# old\n"
    assert (tmp_path / "out" / "train.py").read_text().startswith("import helper")
    # the re-run found helper.py through PYTHONPATH, ran with this interpreter, and was tracked
    assert report.check is not None and report.check.status == "finished"
    assert keep.run(report.check.run_id).exit_code == 0
    assert sys.executable == keep.run_view(report.check.run_id)["command"][0]


def test_code_that_agrees_with_the_pipeline_joins_it(keep: Keep, tmp_path: Path) -> None:
    code = tree(keep, tmp_path / "c", {"lib/m.py": "x = 1\n", "train.py": "t\n"})
    pipeline = tree(keep, tmp_path / "p", {"train.py": "t\n", "config.yaml": "a: 1\n"})
    out = layout(keep, tmp_path / "out", meta(code={"snapshot": code},
                                              pipeline={"tree": pipeline, "command": ["x"]}))
    assert {p.what: p.path for p in out.parts}["code"] == "."
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "REPRODUCE.md", "config.yaml", "lib", "reproduce", "train.py"]


def test_only_a_commit_and_its_diff_give_code_patch(keep: Keep, tmp_path: Path) -> None:
    diff = keep.store.put_bytes(b"diff --git a/x b/x\n")
    out = layout(keep, tmp_path / "out", meta(code={"commit": "a" * 40, "diff": diff}))
    assert (tmp_path / "out" / "code.patch").read_bytes() == b"diff --git a/x b/x\n"
    assert out.missing[0].startswith("code snapshot: none recorded; code.patch holds")


def test_datasets_land_at_their_recorded_paths_or_under_data(keep: Keep, tmp_path: Path) -> None:
    a = tree(keep, tmp_path / "a", {"x.csv": "1\n"})
    b = tree(keep, tmp_path / "b", {"y.csv": "2\n"})
    data = meta(datasets=[
        {"name": "inside", "role": "train", "tree": a, "source": "/work/proj/inputs/tr"},
        {"name": "escaping", "role": "test", "tree": b, "source": "/work/proj/../../etc"},
        {"name": "second", "role": "train", "tree": b, "source": "/elsewhere"},
    ])
    out = layout(keep, tmp_path / "out", data, {"command": {"cwd": "/work/proj"}})
    assert [p.path for p in out.parts if p.what.startswith("dataset")] == [
        "inputs/tr", "data/test", "data/train"]
    assert (tmp_path / "out" / "inputs" / "tr" / "x.csv").read_text() == "1\n"
    assert (tmp_path / "out" / "data" / "test" / "y.csv").read_text() == "2\n"


@pytest.mark.parametrize("files, datasets, error, message", [
    ({"REPRODUCE.md": "mine"}, [], InvalidInputError, "'REPRODUCE.md' would land where reproduce"),
    ({"reproduce/params.json": "{}"}, [], InvalidInputError, "would land where reproduce"),
    ({"data/train/x.csv": "other"}, [{"name": "d", "role": "train"}], InvalidInputError,
     "pipeline: its file 'data/train/x.csv' would land where dataset train puts"),
    ({}, [{"name": "a", "role": "train"}, {"name": "../../x", "role": "train"}],
     UnsafePathError, "unsafe path"),
])
def test_clashing_and_hostile_metadata_is_refused_and_nothing_written(
        keep: Keep, tmp_path: Path, files: dict[str, str], datasets: list[dict[str, Any]],
        error: type[Exception], message: str) -> None:
    pipeline = tree(keep, tmp_path / "p", {"train.py": "t\n", **files})
    data_tree = tree(keep, tmp_path / "d", {"x.csv": "1\n"})
    data = meta(pipeline={"tree": pipeline, "command": ["x"]},
                datasets=[{**d, "tree": data_tree} for d in datasets])
    with pytest.raises(error, match=message):
        layout(keep, tmp_path / "out", data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "p", "project"]


def test_run_compares_an_output_folder_when_nothing_is_registered(keep: Keep,
                                                                  tmp_path: Path) -> None:
    recorded = tree(keep, tmp_path / "want", {"w.txt": "1.5\n", "card.md": "toy\n"})
    write = ("import pathlib; p = pathlib.Path('out'); p.mkdir(); "
             "(p / 'w.txt').write_text('1.6\\n'); (p / 'card.md').write_text('toy\\n'); "
             "(p / 'new.txt').write_text('x')")
    data = {**meta(pipeline={"command": ["python", "-c", write]}),
            "performance": {"metrics": {"acc": 0.9}}}
    report = reproduce(keep, ref="m@1.0.0", name="m", tree_id=recorded, run_id=None, meta=data,
                       dest=tmp_path / "out", run=True, output=Path("out"))
    check = report.check
    assert check is not None and check.status == "finished" and report.exit_code == 1
    assert {(c.name, c.matches) for c in check.checks if c.kind == "file"} == {
        ("card.md", True), ("w.txt", False), ("new.txt", False)}
    assert "metric acc: recorded 0.9, not reproduced" in check.drifted
    assert any(line.startswith("file new.txt: new in the reproduction") for line in check.drifted)
    # no environment record of a run in this keep: said, not guessed
    assert check.environment[0].startswith("this keep has no environment record")


def test_environment_notes_name_what_differs() -> None:
    notes = environment_notes({"python": {"version": "2.7.18"},
                               "packages": {"pytest": "0.0.1", "no-such-package": "1.0"}})
    assert notes[0] == f"Python 2.7.18 when recorded, {platform.python_version()} now"
    assert notes[1].startswith("2 package(s) differ from the recorded environment: "
                               "no-such-package 1.0 -> absent, pytest 0.0.1 -> ")
    same = {"python": {"version": platform.python_version()}, "packages": {}}
    assert environment_notes(same) == []


def test_a_command_naming_the_original_folder_is_called_out(keep: Keep, tmp_path: Path) -> None:
    pipeline = tree(keep, tmp_path / "p", {"train.py": "t\n"})
    data = meta(pipeline={"tree": pipeline, "command": ["python", "/work/proj/train.py"]})
    out = layout(keep, tmp_path / "out", data, {"command": {"cwd": "/work/proj"}})
    assert (
        "pipeline command: it names files in the folder it first ran in (/work/proj/train.py): "
        "run, it would read those, not the ones laid out here") in out.missing
    relative = layout(keep, tmp_path / "out2", meta(pipeline={
        "tree": pipeline, "command": ["python", "train.py"]}), {"command": {"cwd": "/work/proj"}})
    assert not any(m.startswith("pipeline command") for m in relative.missing)
