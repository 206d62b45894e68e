"""Staging replay: recorded requests through the candidate and production side by side."""

from __future__ import annotations

import json
import math

import pytest
from validation_helpers import DOUBLE, python_version

from modelkeep.registry.validation.replay import agree

EXAMPLE = {"x": [1.0]}


def requests(path, count: int, bad_at: int | None = None):
    with path.open("w") as out:
        for i in range(count):
            value = "oops" if i == bad_at else float(i)
            out.write(json.dumps({"id": i, "input": {"x": [value, 0.5]}, "output": "ignored"}) + "\n")
    return path


@pytest.fixture
def production(keep, tmp_path):
    python_version(keep, tmp_path / "prod", DOUBLE, example=EXAMPLE)
    keep.set_alias("m", "production", "1.0.0", force=True, reason="first")
    return keep


def test_an_equivalent_candidate_agrees_on_every_request(production, tmp_path, write_policy):
    ref = python_version(production, tmp_path / "cand", '''
        def run(inputs):
            return {"y": [v + v + 1e-9 for v in inputs["x"]]}
        ''', example=EXAMPLE)
    requests(tmp_path / "requests.jsonl", 200)
    report = production.validate(ref, write_policy(
        f"replay: {{file: {tmp_path / 'requests.jsonl'}, tolerance: 1e-6}}\n"))
    (check,) = report.checks
    assert report.passed, check.detail
    assert check.values["requests"] == 200 and check.values["agreement"] == 1.0
    assert check.values["errors"] == 0 and check.values["latency_p95_ms"] > 0
    assert check.name == "replay requests.jsonl against production"
    assert check.detail.startswith("200 requests: 100.00% agree (min 100.00%), 0 errors")


def test_disagreement_and_errors_fail_with_their_counts(production, tmp_path, write_policy):
    ref = python_version(production, tmp_path / "cand", '''
        def run(inputs):
            if inputs["x"][0] >= 90:
                raise ValueError("cannot handle large inputs")
            return {"y": [3 * v for v in inputs["x"]] if inputs["x"][0] >= 50 else
                    [2 * v for v in inputs["x"]]}
        ''', example=EXAMPLE)
    requests(tmp_path / "r.jsonl", 100, bad_at=10)
    report = production.validate(ref, write_policy(
        f"replay: {{file: {tmp_path / 'r.jsonl'}, min_agreement: 0.5, max_errors: 1}}\n"))
    (check,) = report.checks
    assert not report.passed
    # requests 1-49 agree (0 is 0 either way: 0 agrees too); 10 errs on both sides
    assert check.values["agreement"] == pytest.approx(49 / 100)
    assert (check.values["errors"], check.values["baseline_errors"]) == (11, 1)
    assert "first error: SignatureMismatchError: input 'x' wants float64 values" in check.detail


def test_replay_against_a_missing_alias_fails(keep, tmp_path, write_policy):
    ref = python_version(keep, tmp_path / "cand", DOUBLE, example=EXAMPLE)
    requests(tmp_path / "r.jsonl", 3)
    report = keep.validate(ref, write_policy(f"replay: {{file: {tmp_path / 'r.jsonl'}}}\n"))
    assert not report.passed
    assert report.checks[0].detail == "cannot replay against production: alias 'production' of m is not set"


@pytest.mark.parametrize(("a", "b", "same"), [
    ({"y": [1.0, 2.0]}, {"y": [1.0, 2.0 + 1e-9]}, True),
    ({"y": [1.0, 2.0]}, {"y": [1.0, 2.1]}, False),
    ({"y": [1.0]}, {"y": [1.0, 2.0]}, False),
    ({"y": 1}, {"z": 1}, False),
    ("yes", "yes", True),
    ("yes", "no", False),
    (True, 1, False),
    (math.nan, math.nan, True),
    (0.0, 1e-9, True),
    (None, None, True),
])
def test_outputs_agree_within_tolerance(a, b, same):
    assert agree(a, b, 1e-6) is same
