"""Policy files: every check kind read, every mistake refused with the file, line and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelkeep.errors import InvalidPolicyError
from modelkeep.registry.validation.policy import load_policy, parse_policy
from modelkeep.storage.hashing import hash_bytes

FULL = b"""\
# the gate a version must pass before production
required: [description, technical.framework.name, technical.signature]
metrics:
  - accuracy >= 0.9
  - accuracy >= production.accuracy - 0.005   # no regression beyond noise
  - latency_p95_ms <= 1.1 * production.latency_p95_ms
budgets: {artifact_size_mb: 50, peak_memory_mb: 512, load_time_s: 2, latency_p95_ms: 20}
signature_compatible_with: production
replay: {file: requests.jsonl, against: production, tolerance: 1e-6, min_agreement: 0.99}
measure: {runs: 20, warmup: 2, timeout_s: 30, memory_limit_mb: 2048}
"""


def test_full_policy_is_read(tmp_path):
    (tmp_path / "policy.yaml").write_bytes(FULL)
    policy = load_policy(tmp_path / "policy.yaml")
    assert policy.required == ("description", "technical.framework.name", "technical.signature")
    assert [m.text for m in policy.metrics][1] == "accuracy >= production.accuracy - 0.005"
    assert dict(policy.budgets) == {"artifact_size_mb": 50, "peak_memory_mb": 512,
                                    "load_time_s": 2, "latency_p95_ms": 20}
    assert policy.signature_compatible_with == "production"
    assert policy.replay is not None and policy.replay.file == tmp_path / "requests.jsonl"
    assert (policy.replay.min_agreement, policy.replay.tolerance) == (0.99, 1e-6)
    assert (policy.measure.runs, policy.measure.memory_limit_mb) == (20, 2048)
    assert policy.check_count == 3 + 3 + 4 + 1 + 1
    assert policy.hash == hash_bytes(FULL)
    assert policy.to_dict()["metrics"][0] == "accuracy >= 0.9"


def refused(text: str) -> str:
    with pytest.raises(InvalidPolicyError) as caught:
        parse_policy(text.encode(), source="p.yaml")
    message = caught.value.message
    assert "\n" not in message
    return message


@pytest.mark.parametrize(("text", "message"), [
    ("metrics:\n  - accuracy >= 0.9\n  - accuracy >= = 0.9\n",
     "p.yaml line 3: metrics[1] 'accuracy >= = 0.9': unexpected '=' at position 13"),
    ("metric: [accuracy >= 0.9]\n", "p.yaml line 1: unknown policy key 'metric'; did you mean 'metrics'?"),
    ("budgets: {latency_ms: 3}\n", "p.yaml line 1: unknown budgets key 'latency_ms'"),
    ("budgets:\n  load_time_s: -1\n", "p.yaml line 2: budgets.load_time_s must be a number > 0, got -1"),
    ("budgets: {load_time_s: yes}\n", "budgets.load_time_s must be a number > 0, got 'yes'"),
    ("budgets: {load_time_s: .nan}\n", "budgets.load_time_s must be a number > 0"),
    ("required: description\n", "p.yaml line 1: required must be a list of strings"),
    ("required: ['']\n", "required must be a list of strings"),
    ("replay: {against: production}\n", "replay.file must name a JSON-lines file"),
    ("replay: {file: r.jsonl, min_agreement: 1.5}\n", "replay.min_agreement is a share of requests"),
    ("replay: {file: r.jsonl, max_errors: 0.5}\n", "replay.max_errors must be a whole number >= 0"),
    ("measure: {runs: 0}\nrequired: [x]\n", "measure.runs must be a whole number > 0, got 0"),
    ("signature_compatible_with: 3\n", "signature_compatible_with must be an alias or @VERSION"),
    ("- accuracy >= 0.9\n", "p.yaml: must be a mapping of check kinds"),
    ("{}\n", "defines no checks, and validation never passes by default"),
    ("required: []\nmetrics: []\n", "defines no checks"),
    ("measure: {runs: 5}\n", "defines no checks"),
    ("", "must be a mapping"),
    ("metrics: [a >= 1\n", "not valid YAML"),
    ("a: &a [*a]\n", "not valid YAML"),
])
def test_bad_policies_are_one_line_errors(text, message):
    assert message in refused(text)


def test_not_utf8_and_unreadable(tmp_path):
    with pytest.raises(InvalidPolicyError, match="not UTF-8"):
        parse_policy(b"required: [\xff]\n", source="p.yaml")
    with pytest.raises(InvalidPolicyError, match="cannot read policy .*missing.yaml"):
        load_policy(tmp_path / "missing.yaml")
    with pytest.raises(InvalidPolicyError, match="is not a regular file"):
        load_policy(tmp_path)  # a folder
    with pytest.raises(InvalidPolicyError, match="is not a regular file"):
        load_policy(Path("/dev/zero"))  # endless: never read


def test_oversize_policy_is_refused(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# " + b"x" * (1 << 20) + b"\nrequired: [a]\n")
    with pytest.raises(InvalidPolicyError, match="larger than"):
        load_policy(big)


def test_billion_laughs_is_refused():
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)) + "required: [x]\n"
    assert "not valid YAML" in refused(laughs)


def test_relative_replay_file_is_beside_the_policy(tmp_path):
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "gate.yaml").write_text("replay: {file: data/req.jsonl}\n")
    policy = load_policy(tmp_path / "ci" / "gate.yaml")
    assert policy.replay is not None
    assert policy.replay.file == Path(tmp_path / "ci" / "data" / "req.jsonl")
    assert (policy.replay.against, policy.replay.min_agreement) == ("production", 1.0)
