"""Validation of what is recorded: required fields, metric expressions, artifact size,
signature compatibility; the stored result; nothing passes by default."""

from __future__ import annotations

import pytest
from validation_helpers import metadata

from modelkeep.errors import InvalidPolicyError, VersionNotFoundError


def by_name(report):
    return {c.name: c for c in report.checks}


def test_recorded_checks_pass_and_fail_with_their_numbers(two_versions, write_policy):
    policy = write_policy(
        "required: [description, technical.framework.name, technical.hardware.gpu]\n"
        "metrics:\n"
        "  - accuracy >= 0.9\n"
        "  - accuracy >= production.accuracy - 0.005\n"
        "  - latency_p95_ms <= 1.01 * production.latency_p95_ms\n"
        "budgets: {artifact_size_mb: 1}\n"
        "signature_compatible_with: production\n")
    report = two_versions.validate("m@1.0.1", policy)
    checks = by_name(report)
    assert report.passed is False
    assert checks["required description"].passed
    assert checks["required technical.framework.name"].detail == \
        "technical.framework.name = scikit-learn"
    assert not checks["required technical.hardware.gpu"].passed
    assert checks["accuracy >= 0.9"].detail == "0.93 >= 0.9 (accuracy = 0.93)"
    assert checks["accuracy >= production.accuracy - 0.005"].passed
    latency = checks["latency_p95_ms <= 1.01 * production.latency_p95_ms"]
    assert not latency.passed
    assert latency.values["left"] == 10.5 and latency.values["right"] == pytest.approx(10.1)
    size = checks["budget artifact_size_mb <= 1"]
    assert size.passed and size.detail.endswith(" MB <= 1 MB")
    assert size.values["value"] == pytest.approx(
        two_versions.resolve("m@1.0.1").size / 2**20)
    assert checks["signature compatible with production"].detail == \
        "compatible with production (m@1.0.0)"
    assert [c.name for c in report.failures] == [
        "required technical.hardware.gpu", "latency_p95_ms <= 1.01 * production.latency_p95_ms"]


def test_appended_metrics_win_over_the_snapshot(two_versions, write_policy):
    two_versions.add_metric("m@1.0.1", "accuracy", 0.5)
    report = two_versions.validate("m@1.0.1", write_policy("metrics: [accuracy >= 0.9]\n"))
    assert not report.passed and report.checks[0].detail == "0.5 >= 0.9 (accuracy = 0.5)"


def test_unknown_metric_and_missing_alias_fail_and_say_why(two_versions, write_policy):
    report = two_versions.validate("m@1.0.1", write_policy(
        "metrics:\n  - f1 >= 0.8\n  - accuracy >= staging.accuracy\n  - accuracy >= @9.9.9.accuracy\n"
        "  - accuracy >= prodution.accuracy\n"
        "signature_compatible_with: staging\n"))
    details = [c.detail for c in report.checks]
    assert not report.passed and not any(c.passed for c in report.checks)
    assert details[0] == "m@1.0.1 has no metric 'f1' (its metrics: accuracy, latency_p95_ms)"
    assert details[1] == "alias 'staging' of m is not set"
    assert "9.9.9" in details[2] and "not found" in details[2]
    assert "did you mean 'production'?" in details[3]
    assert details[4] == "alias 'staging' of m is not set"


def test_nan_and_division_by_zero_fail(two_versions, write_policy):
    two_versions.add_metric("m@1.0.1", "loss", float("nan"))
    report = two_versions.validate("m@1.0.1", write_policy(
        "metrics: [loss < 1, loss >= 0, 'accuracy / (accuracy - accuracy) > 0']\n"))
    assert [c.passed for c in report.checks] == [False, False, False]
    assert report.checks[0].detail.endswith("NaN never passes")
    assert report.checks[2].detail == "division by zero"


def test_breaking_signature_fails_naming_the_change(keep, make_model, tmp_path, write_policy):
    keep.register("m", make_model(tmp_path / "a", b"v1"), metadata=metadata(["x", "y"]))
    keep.set_alias("m", "production", "1.0.0", force=True, reason="first")
    keep.register("m", make_model(tmp_path / "b", b"v2"), metadata=metadata(["x"], ["label", "p"]),
                  bump="major")
    report = keep.validate("m@2.0.0", write_policy("signature_compatible_with: production\n"))
    assert not report.passed
    assert report.checks[0].detail == \
        "breaks callers of production (m@1.0.0): input 'y' removed"
    assert report.checks[0].values["added"] == ["output 'p' added"]


def test_missing_signature_fails(keep, make_model, tmp_path, write_policy):
    keep.register("m", make_model(tmp_path / "a"))
    keep.register("m", make_model(tmp_path / "b", b"2"))
    report = keep.validate("m@1.0.1", write_policy("signature_compatible_with: '@1.0.0'\n"))
    assert not report.passed
    assert report.checks[0].detail.startswith("m@1.0.1 has no signature to compare")


def test_result_is_stored_with_the_version(two_versions, write_policy):
    policy = write_policy("metrics: [accuracy >= 0.9]\n")
    report = two_versions.validate("m@1.0.1", policy)
    status = two_versions.validation_status("m@1.0.1")
    assert status is not None and status.passed and status.policy_hash == report.policy_hash
    stored = [r for r in two_versions.show("m@1.0.1")["records"] if r["kind"] == "validation"]
    assert len(stored) == 1 and stored[0]["key"] == report.policy_hash
    assert stored[0]["value"] == report.to_dict()
    assert stored[0]["value"]["recorded_at"] == stored[0]["created_at"]
    assert two_versions.validation_status("m@1.0.0") is None


def test_bad_input_stores_nothing(two_versions, write_policy, tmp_path):
    with pytest.raises(InvalidPolicyError, match="defines no checks"):
        two_versions.validate("m@1.0.1", write_policy("# nothing\n{}\n"))
    with pytest.raises(VersionNotFoundError):
        two_versions.validate("m@7.0.0", write_policy("required: [description]\n"))
    with pytest.raises(InvalidPolicyError, match="replay file .*nope.jsonl"):
        two_versions.validate("m@1.0.1", write_policy("replay: {file: nope.jsonl}\n"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"input": [1]}\n[1, 2]\n')
    with pytest.raises(InvalidPolicyError, match="bad.jsonl line 2: each line must be an object"):
        two_versions.validate("m@1.0.1", write_policy(f"replay: {{file: {bad}}}\n"))
    assert two_versions.validation_status("m@1.0.1") is None


def test_a_replay_file_that_is_not_a_regular_file_is_refused(two_versions, write_policy):
    with pytest.raises(InvalidPolicyError, match="replay file /dev/zero is not a regular file"):
        two_versions.validate("m@1.0.1", write_policy("replay: {file: /dev/zero}\n"))
