"""Reading runs: filters on model, status, params and final metrics; compare."""

from __future__ import annotations

import math

import pytest

from modelkeep.errors import InvalidInputError, InvalidMetricError, RunNotFoundError
from modelkeep.keep import Keep


@pytest.fixture
def sweep(any_keep: Keep) -> Keep:
    for i, (lr, opt, acc) in enumerate([(0.1, "sgd", 0.7), (0.01, "adam", 0.91),
                                        (0.001, "adam", 0.95), (0.001, "sgd", math.nan)]):
        with any_keep.start_run("bert" if i < 3 else "gpt", f"r{i}", capture=False) as run:
            run.log_params(lr=lr, optimizer=opt, epochs=3)
            run.log_metric("acc", 0.1, step=0)
            run.log_metric("acc", acc, step=1)
    return any_keep


def names(runs: list[dict]) -> list[str]:
    return sorted(r["name"] for r in runs)


def test_filters(sweep: Keep) -> None:
    assert names(sweep.runs()) == ["r0", "r1", "r2", "r3"]
    assert names(sweep.runs(model="bert")) == ["r0", "r1", "r2"]
    assert names(sweep.runs(params=["lr=1e-3"])) == ["r2", "r3"]
    assert names(sweep.runs(params=["optimizer=adam"])) == ["r1", "r2"]
    assert names(sweep.runs(params=["optimizer!=adam", "lr<0.05"])) == ["r3"]
    assert names(sweep.runs(metrics=["acc>0.9"])) == ["r1", "r2"]
    assert names(sweep.runs(metrics=["acc>0.9", "acc<=0.92"])) == ["r1"]
    assert names(sweep.runs(metrics=["acc=nan"])) == ["r3"]
    assert names(sweep.runs(params=["lr=0.001"], metrics=["acc>0.9"])) == ["r2"]
    assert names(sweep.runs(status="finished", limit=2)) == ["r2", "r3"]  # newest first
    assert sweep.runs(params=["missing=1"]) == []


def test_list_carries_params_and_final_metrics(sweep: Keep) -> None:
    run = next(r for r in sweep.runs() if r["name"] == "r2")
    assert run["params"] == {"epochs": 3, "lr": 0.001, "optimizer": "adam"}
    assert run["metrics"] == {"acc": 0.95}


@pytest.mark.parametrize("bad", ["acc", "acc>high", ">0.3", "acc<nan"])
def test_bad_metric_filters(sweep: Keep, bad: str) -> None:
    with pytest.raises((InvalidInputError, InvalidMetricError)):
        sweep.runs(metrics=[bad])


def test_bad_param_filter_and_status(sweep: Keep) -> None:
    with pytest.raises(InvalidInputError):
        sweep.runs(params=["optimizer>adam"])
    with pytest.raises(InvalidInputError):
        sweep.runs(status="done")


def test_compare(sweep: Keep) -> None:
    ids = {r["name"]: r["id"] for r in sweep.runs()}
    result = sweep.compare_runs([ids["r1"], ids["r2"][:8]])
    assert result["params"]["lr"] == [0.01, 0.001]
    assert result["changed"] == {"params": ["lr"], "metrics": ["acc"]}
    same = sweep.compare_runs([ids["r3"], ids["r3"]])
    assert same["changed"] == {"params": [], "metrics": []}  # NaN equals NaN here
    with pytest.raises(InvalidInputError):
        sweep.compare_runs([ids["r1"]])


def test_run_ids_resolve_by_unique_prefix(keep: Keep) -> None:
    with keep.start_run("m", capture=False) as run:
        pass
    assert keep.run(run.id[:6]).id == run.id
    assert keep.run(run.id.upper()).id == run.id
    for bad in ("zzzz", "ab", ""):
        with pytest.raises(RunNotFoundError):
            keep.run(bad)
