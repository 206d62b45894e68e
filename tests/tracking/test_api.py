"""The Run API: logging, params, tags, registering a version from a run, bad input."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from modelkeep import start_run
from modelkeep.errors import (
    InvalidInputError,
    InvalidMetricError,
    InvalidNameError,
    PathNotFoundError,
    RunNotActiveError,
)
from modelkeep.keep import Keep


def test_with_block_logs_and_finishes(keep: Keep) -> None:
    with keep.start_run("bert", "first", capture=False) as run:
        run.log_params({"lr": 0.001, "optimizer": "adam"}, epochs=3)
        for step in range(10):
            run.log_metric("loss", 1.0 / (step + 1))
        run.log_metrics({"acc": 0.5, "f1": 0.4}, step=0)
        run.log_metrics({"acc": 0.9, "f1": 0.8}, step=1)
        run.set_tags({"team": "nlp"}, stage="dev")
    view = keep.run_view(run.id)
    assert view["status"] == "finished" and view["ended_at"]
    assert view["params"] == {"epochs": 3, "lr": 0.001, "optimizer": "adam"}
    assert view["tags"] == {"stage": "dev", "team": "nlp"}
    series = {s["name"]: s for s in view["metrics"]}
    assert series["loss"]["points"] == 10 and series["loss"]["last_step"] == 9
    assert series["acc"]["last_value"] == 0.9
    history = keep.metric_history(run.id, "loss")
    assert history.steps == list(range(10))
    assert history.values[0] == 1.0


def test_exception_in_block_marks_failed_and_keeps_points(keep: Keep) -> None:
    with pytest.raises(ZeroDivisionError), keep.start_run("m", capture=False) as run:
        run.log_metric("loss", 2.0)
        _ = 1 / 0
    assert keep.run(run.id).status == "failed"
    assert keep.metric_history(run.id, "loss").values == [2.0]


def test_nan_and_infinity_are_stored_faithfully(any_keep: Keep) -> None:
    keep = any_keep
    with keep.start_run("m", capture=False) as run:
        for value in (math.nan, math.inf, -math.inf, 1.5):
            run.log_metric("x", value)
        run.log_metric("last_nan", 1.0)
        run.log_metric("last_nan", math.nan)
    values = keep.metric_history(run.id, "x").values
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf, 1.5]
    final = keep.runs()[0]["metrics"]
    assert math.isnan(final["last_nan"]) and final["x"] == 1.5


@pytest.mark.parametrize("value", ["0.5", b"1", None, True, [1.0], {"a": 1}, object()])
def test_non_numeric_metrics_are_refused(keep: Keep, value: object) -> None:
    with keep.start_run("m", capture=False) as run:
        run.log_metric("ok", 1.0)
        with pytest.raises(InvalidMetricError):
            run.log_metric("bad", value)  # type: ignore[arg-type]
    assert keep.metric_history(run.id, "ok").values == [1.0]


@pytest.mark.parametrize("name", ["", "x" * 251, "tab\there", 5, None, ["a"]])
def test_bad_metric_names_are_refused(keep: Keep, name: object) -> None:
    with keep.start_run("m", capture=False) as run, pytest.raises(InvalidNameError):
        run.log_metric(name, 1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("step", [1.5, "3", True, 2**63])
def test_bad_steps_are_refused(keep: Keep, step: object) -> None:
    with keep.start_run("m", capture=False) as run, pytest.raises(InvalidMetricError):
        run.log_metric("loss", 1.0, step=step)  # type: ignore[arg-type]


def test_numpy_scalars_are_accepted(keep: Keep) -> None:
    import numpy as np  # a test dependency
    with keep.start_run("m", capture=False) as run:
        run.log_metric("loss", np.float32(0.25), step=np.int64(7))
        run.log_params(batch=np.int64(32))
    assert keep.metric_history(run.id, "loss").steps == [7]
    assert keep.run_view(run.id)["params"] == {"batch": 32}


def test_logging_to_an_ended_run_is_an_error(keep: Keep) -> None:
    run = keep.start_run("m", capture=False)
    run.log_metric("loss", 1.0)
    run.end()
    for call in (lambda: run.log_metric("loss", 2.0), lambda: run.log_params(a=1),
                 lambda: run.set_tags(a="b")):
        with pytest.raises(RunNotActiveError):
            call()
    assert keep.metric_history(run.id, "loss").values == [1.0]
    with pytest.raises(RunNotActiveError):
        keep.start_run(run_id=run.id)


def test_params_are_fixed_once_logged(keep: Keep) -> None:
    with keep.start_run("m", capture=False) as run:
        run.log_params(lr=0.1)
        run.log_params(lr=0.1)  # the same value again is fine
        with pytest.raises(InvalidInputError, match="already"):
            run.log_params(lr=0.2, other=1)
        with pytest.raises(InvalidInputError, match="finite"):
            run.log_params(bad=math.nan)
    assert keep.run_view(run.id)["params"] == {"lr": 0.1}


def test_a_param_with_a_lone_surrogate_is_refused_when_logged(keep: Keep) -> None:
    # what an undecodable command-line byte becomes; it could never be exported as UTF-8
    with keep.start_run("m", capture=False) as run:
        with pytest.raises(InvalidInputError, match="surrogate"):
            run.log_params(x="caf\udce9")
        run.log_params(x="café")
    assert keep.run_view(run.id)["params"] == {"x": "café"}


def test_register_model_links_lineage(any_keep: Keep, tmp_path: Path) -> None:
    keep = any_keep
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("a,b\n1,2\n")
    (tmp_path / "train.py").write_text("print('train')\n")
    (tmp_path / "config.yaml").write_text("lr: 0.1\n")
    weights = tmp_path / "model.bin"
    weights.write_bytes(b"weights")
    with keep.start_run("clf", capture=False) as run:
        run.log_params(lr=0.1)
        run.log_metric("acc", 0.5, step=0)
        run.log_metric("acc", 0.8, step=1)
        run.log_dataset(data, role="train", preprocessing=["lowercase"],
                        augmentation=[{"name": "flip", "params": {"p": 0.5}}])
        run.log_code(paths=[tmp_path / "train.py"])
        run.log_pipeline(files=[tmp_path / "train.py", tmp_path / "config.yaml"],
                         command="python train.py --lr 0.1")
        info = run.register_model(weights, bump="minor")
    assert info.run_id == run.id
    meta = keep.show(info.ref)["metadata"]
    comps = meta["components"]
    assert comps["hyperparameters"] == {"lr": 0.1}
    assert meta["performance"]["metrics"] == {"acc": 0.8}
    assert comps["datasets"][0]["role"] == "train"
    assert comps["datasets"][0]["augmentation"] == [{"name": "flip", "params": {"p": 0.5}}]
    assert comps["code"]["snapshot"]
    assert comps["pipeline"]["command"] == ["python", "train.py", "--lr", "0.1"]
    assert comps["pipeline"]["scripts"] == ["train.py"]
    assert comps["pipeline"]["config_files"] == ["config.yaml"]
    assert keep.run_view(run.id)["versions"] == [info.ref]


def test_bad_lineage_input(keep: Keep, tmp_path: Path) -> None:
    with keep.start_run("m", capture=False) as run:
        with pytest.raises(PathNotFoundError):
            run.log_dataset(tmp_path / "gone", role="train")
        with pytest.raises(InvalidInputError):
            run.log_dataset(tmp_path, role="training")
        with pytest.raises(InvalidInputError):
            run.log_dataset(tmp_path, preprocessing=[{"params": {}}])
        with pytest.raises(PathNotFoundError):
            run.log_artifact(tmp_path / "nope")
    assert keep.datasets() == []


def test_run_without_model_needs_a_name_to_register(keep: Keep, tmp_path: Path) -> None:
    (tmp_path / "w").write_bytes(b"w")
    with keep.start_run(capture=False) as run:
        with pytest.raises(InvalidInputError):
            run.register_model(tmp_path / "w")
        assert run.register_model(tmp_path / "w", name="named").name == "named"


def test_start_run_opens_keep_by_path(tmp_path: Path) -> None:
    Keep.init(tmp_path).close()
    with start_run("m", keep=tmp_path, capture=False) as run:
        run.log_metric("a", 1)
    keep = Keep.open(tmp_path)
    assert keep.metric_history(run.id, "a").values == [1.0]
    keep.close()


def test_log_artifact_stores_files_and_folders_that_gc_keeps(keep: Keep, tmp_path: Path) -> None:
    from modelkeep.storage.checkout import checkout

    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "loss.png").write_bytes(b"\x89PNG fake plot" * 100)
    (tmp_path / "plots" / "acc.png").write_bytes(b"\x89PNG other plot" * 50)
    (tmp_path / "report.txt").write_text("final accuracy 0.93\n")
    with keep.start_run("m", capture=False) as run:
        folder = run.log_artifact(tmp_path / "plots")
        single = run.log_artifact(tmp_path / "report.txt", name="report")
    assert (folder["name"], folder["files"]) == ("plots", 2)
    assert (single["name"], single["files"], single["size"]) == ("report", 1, 20)
    listed = keep.run_view(run.id)["artifacts"]
    assert [(a["name"], a["tree_id"]) for a in listed] == [("plots", folder["tree_id"]),
                                                            ("report", single["tree_id"])]
    keep.gc(grace=0)  # a run's artifacts are roots: nothing of theirs may go
    checkout(keep.store, folder["tree_id"], tmp_path / "back", verify=True)
    assert (tmp_path / "back" / "loss.png").read_bytes() == (tmp_path / "plots" / "loss.png").read_bytes()
    assert (tmp_path / "back" / "acc.png").read_bytes() == (tmp_path / "plots" / "acc.png").read_bytes()
