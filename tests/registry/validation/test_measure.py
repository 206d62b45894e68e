"""Budgets measured by running the version in a child process: a loader that raises, hangs,
leaks or crashes is a failed check with its reason, and validate itself carries on."""

from __future__ import annotations

import time

import pytest
from validation_helpers import DOUBLE, python_version

EXAMPLE = {"x": [1.0, 2.0, 3.0]}
BUDGETS = "budgets: {load_time_s: 30, latency_p95_ms: 50, peak_memory_mb: 1024}\n"


def test_a_working_model_is_measured(any_keep, tmp_path, write_policy):
    keep = any_keep  # the child process opens the same database: SQLite or PostgreSQL
    ref = python_version(keep, tmp_path / "ok", DOUBLE, example=EXAMPLE)
    report = keep.validate(ref, write_policy(BUDGETS + "measure: {runs: 20, warmup: 2}\n"))
    assert report.passed, report.to_dict()
    (measured,) = report.measurements
    assert measured.error is None and measured.calls == 20
    assert 0 < measured.load_time_s < 30 and 0 < measured.latency_p95_ms < 50
    assert measured.latency_p50_ms <= measured.latency_p95_ms <= measured.latency_p99_ms
    assert 5 < measured.peak_memory_mb < 1024  # a real process's resident memory
    details = [c.detail for c in report.checks]
    assert details[0].endswith(" s <= 30 s") and details[2].endswith(" MB <= 1024 MB")


def test_tight_budgets_fail_with_their_numbers(keep, tmp_path, write_policy):
    ref = python_version(keep, tmp_path / "slow", '''
        import time

        def run(inputs):
            time.sleep(0.02)
            return inputs
        ''', example=EXAMPLE)
    report = keep.validate(ref, write_policy(
        "budgets: {latency_p50_ms: 5, peak_memory_mb: 1}\nmeasure: {runs: 3, warmup: 0}\n"))
    latency, memory = report.checks
    assert not latency.passed and latency.values["value"] >= 20
    assert latency.detail.endswith(" ms > 5 ms")
    assert not memory.passed and memory.values["value"] > 1


def test_no_example_input_fails_the_latency_budget(keep, tmp_path, write_policy):
    ref = python_version(keep, tmp_path / "noex", DOUBLE)
    report = keep.validate(ref, write_policy("budgets: {latency_p95_ms: 50, load_time_s: 30}\n"))
    latency, load = report.checks
    assert not latency.passed and "has no example input" in latency.detail
    assert load.passed


@pytest.mark.parametrize(("body", "policy", "reason"), [
    ("raise ValueError('weights are corrupt')\n", "",
     "could not measure: LoaderFailedError: "),
    ("import time\ntime.sleep(600)\n", "measure: {timeout_s: 2}\n",
     "could not measure: timed out after 2 s (measure.timeout_s)"),
    ("hog = []\nwhile True:\n    hog.append(bytearray(50 << 20))\n",
     "measure: {memory_limit_mb: 400}\n", "could not measure: ran out of memory (limit 400 MB)"),
    ("import os\nos.abort()\n", "", "could not measure: the child process killed by SIGABRT"),
    ("import os\nos._exit(3)\n", "", "could not measure: the child process exited with status 3"),
])
def test_a_loader_that_raises_hangs_leaks_or_crashes_fails_the_check(
        keep, tmp_path, write_policy, body, policy, reason):
    ref = python_version(keep, tmp_path / "bad", body + DOUBLE, example=EXAMPLE)
    start = time.monotonic()
    report = keep.validate(ref, write_policy(BUDGETS + policy))
    assert time.monotonic() - start < 60
    assert not report.passed
    assert all(not c.passed and c.detail.startswith(reason) for c in report.checks), \
        [c.detail for c in report.checks]
    assert keep.validation_status(ref).passed is False  # stored, and failing


def test_a_hang_leaves_no_process_behind(keep, tmp_path, write_policy):
    import psutil

    hang = ("import subprocess, sys, time\n"
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
            "time.sleep(600)\n")
    ref = python_version(keep, tmp_path / "hang", hang + DOUBLE, example=EXAMPLE)
    before = {p.pid for p in psutil.process_iter()}
    report = keep.validate(ref, write_policy("budgets: {load_time_s: 5}\nmeasure: {timeout_s: 3}\n"))
    assert "timed out" in report.checks[0].detail
    time.sleep(0.2)
    left = [p for p in psutil.process_iter(["cmdline"])
            if p.pid not in before and "time.sleep(600)" in " ".join(p.info["cmdline"] or [])]
    assert left == []


def test_measured_figures_compare_with_another_version(keep, tmp_path, write_policy):
    python_version(keep, tmp_path / "a", DOUBLE, example=EXAMPLE)
    keep.set_alias("m", "production", "1.0.0", force=True, reason="first")
    ref = python_version(keep, tmp_path / "b", DOUBLE + "\n# retrained\n", example=EXAMPLE)
    report = keep.validate(ref, write_policy(
        "metrics: ['latency_p95_ms <= 100 * production.latency_p95_ms + 5']\n"
        "measure: {runs: 10}\n"))
    assert report.passed, report.checks[0].detail
    assert sorted(m.ref for m in report.measurements) == ["m@1.0.0", "m@1.0.1"]
    assert set(report.checks[0].values["values"]) == {"latency_p95_ms",
                                                       "production.latency_p95_ms"}


def test_a_hostile_error_message_is_stored_safe(keep, tmp_path, write_policy):
    ref = python_version(keep, tmp_path / "evil", "raise ValueError('\\x1b[2J\\u202eyb detalov')\n"
                         + DOUBLE, example=EXAMPLE)
    report = keep.validate(ref, write_policy("budgets: {load_time_s: 30}\n"))
    detail = report.checks[0].detail
    assert "\x1b" not in detail and "\u202e" not in detail and "\ufffd[2J" in detail
    stored = [r for r in keep.show(ref)["records"] if r["kind"] == "validation"][0]["value"]
    assert stored["checks"][0]["detail"] == detail


def test_a_version_without_a_loader_fails_measured_checks(keep, make_model, tmp_path,
                                                          write_policy):
    ref = keep.register("m", make_model(tmp_path / "plain")).ref
    report = keep.validate(ref, write_policy("budgets: {load_time_s: 30, artifact_size_mb: 1}\n"))
    load, size = report.checks
    assert not load.passed and load.detail.startswith(
        "could not measure: LoaderMissingError: m@1.0.0 declares no loader")
    assert size.passed and not report.passed


def test_versions_forked_side_by_side_stay_apart(keep, tmp_path, write_policy):
    """Both versions are forked by one fork server: a candidate that crashes at load leaves
    production's figures whole (each child is a process of its own)."""
    python_version(keep, tmp_path / "a", DOUBLE, example=EXAMPLE)
    keep.set_alias("m", "production", "1.0.0", force=True, reason="first")
    ref = python_version(keep, tmp_path / "b", "import os\nos.abort()\n" + DOUBLE,
                         example=EXAMPLE)
    report = keep.validate(ref, write_policy(
        "metrics: ['latency_p95_ms <= 100 * production.latency_p95_ms + 5']\n"
        "measure: {runs: 5}\n"))
    measured = {m.ref: m for m in report.measurements}
    assert "killed by SIGABRT" in measured[ref].error
    production = measured["m@1.0.0"]
    assert production.error is None and production.calls == 5
    assert production.load_time_s > 0 and production.peak_memory_mb > 5
    assert not report.checks[0].passed and "SIGABRT" in report.checks[0].detail
