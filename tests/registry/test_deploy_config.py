"""Deployment configuration versioned with the version: given at deploy, stored in the
append-only events, restored by rollback, replayed by ``deployment_replay``; and every bad
configuration refused before anything is written."""

from __future__ import annotations

import time

import pytest
from support import pass_validation

from modelkeep.errors import InvalidDeployConfigError, InvalidInputError, RolloutStateError
from modelkeep.registry.deploy_config import DeployConfig, load_config_file
from modelkeep.schema.validation import metadata_from_data


@pytest.fixture
def three_versions(any_keep, make_model, tmp_path):
    folder = make_model(tmp_path / "m", b"one")
    any_keep.register("m", folder)
    for content in (b"two", b"three"):
        make_model(folder, content)
        any_keep.register("m", folder)
    pass_validation(any_keep, "m@1.0.0", "m@1.0.1", "m@1.0.2")  # deploys need a validation
    return any_keep


def _config(timeout: float, foo: str) -> DeployConfig:
    return DeployConfig(timeout=timeout, environment={"FOO": foo})


def test_rollback_restores_the_configuration_of_the_version_it_returns_to(three_versions):
    keep = three_versions
    keep.deploy("m@1.0.0", config=_config(2, "1"))
    keep.deploy("m@1.0.1", config=_config(5, "2"))
    state = keep.deployment("m")
    assert state.config("1.0.1").timeout == 5 and state.config("1.0.1").environment == {"FOO": "2"}
    back = keep.change_deployment("m", "rollback").state
    assert back.stable == "1.0.0"
    assert back.config("1.0.0") == _config(2, "1")
    # read back from the database by a fresh read, not only from the returned event
    assert keep.deployment("m").config("1.0.0").environment == {"FOO": "1"}
    rows = keep.db.query("SELECT action FROM deployment_events ORDER BY id")
    assert [r["action"] for r in rows] == ["deploy", "deploy", "rollback"]


def test_redeploying_the_stable_version_with_a_new_configuration_is_a_configure_event(three_versions):
    keep = three_versions
    keep.deploy("m@1.0.0", config=_config(2, "1"))
    event = keep.deploy("m@1.0.0", config=_config(3, "1"), reason="slower disks")
    assert event.action == "configure" and event.state.split() == {"1.0.0": 1.0}
    assert keep.deployment("m").config("1.0.0").timeout == 3
    with pytest.raises(RolloutStateError, match="already the stable version"):
        keep.deploy("m@1.0.0", config=_config(3, "1"))
    assert len(keep.deployment_history("m")) == 2


def test_a_canary_records_its_routing_and_gates_from_the_file(three_versions, tmp_path):
    keep = three_versions
    keep.deploy("m@1.0.0")
    path = tmp_path / "deploy.yaml"
    path.write_text("routing: {steps: [10, 100], by: 'header:X-User', window: 60}\n"
                    "gates: {max_error_rate: 0.05, min_requests: 7}\n"
                    "loader: {timeout: 4, threads: 2}\n")
    event = keep.deploy("m@1.0.1", canary=True, config=load_config_file(path))
    rollout = event.state.rollout
    assert rollout.steps == (10, 100) and rollout.by == "header:X-User" and rollout.window == 60
    assert rollout.gates.max_error_rate == 0.05 and rollout.gates.min_requests == 7
    recorded = event.state.config("1.0.1")
    assert recorded.routing["steps"] == [10, 100] and recorded.gates["min_requests"] == 7
    assert (recorded.timeout, recorded.threads) == (4, 2)
    # flags win over the file
    keep.change_deployment("m", "abort")
    again = keep.deploy("m@1.0.1", canary=True, steps=(50, 100), config=load_config_file(path))
    assert again.state.rollout.steps == (50, 100)


def test_the_versions_registered_deployment_metadata_is_the_default(any_keep, make_model, tmp_path):
    folder = make_model(tmp_path / "m", b"one")
    meta = metadata_from_data({"name": "m", "version": "1.0.0", "deployment": {
        "config": {"timeout": 9, "replicas": 3}, "environment": {"MODE": "fast"}}}, source="test")
    any_keep.register("m", folder, metadata=meta)
    pass_validation(any_keep, "m@1.0.0")
    event = any_keep.deploy("m@1.0.0", config=DeployConfig(environment={"EXTRA": "x"}))
    recorded = event.state.config("1.0.0")
    assert recorded.timeout == 9
    assert recorded.environment == {"MODE": "fast", "EXTRA": "x"}


def test_history_replays_traffic_and_configuration_changes_and_answers_at(three_versions):
    keep = three_versions
    keep.deploy("m@1.0.0", config=_config(2, "1"))
    time.sleep(0.01)
    keep.deploy("m@1.0.1", config=_config(5, "2"))
    time.sleep(0.01)
    keep.deploy("m@1.0.1", config=_config(5, "3"))
    time.sleep(0.01)
    keep.change_deployment("m", "rollback", "p99 up")
    periods = keep.deployment_replay("m")
    assert [p.action for p in periods] == ["deploy", "deploy", "configure", "rollback"]
    first, second, configure, rollback = periods
    assert first.split == {"1.0.0": 1.0} and first.until == second.at
    assert "1.0.0 traffic 0% -> 100%" in first.changes
    assert "1.0.0 environment.FOO - -> 1" in first.changes
    assert second.involved == ["1.0.0", "1.0.1"]
    assert "1.0.1 traffic 0% -> 100%" in second.changes and "1.0.0 traffic 100% -> 0%" in second.changes
    assert configure.changes == ["1.0.1 environment.FOO 2 -> 3"] and configure.involved == ["1.0.1"]
    assert rollback.split == {"1.0.0": 1.0} and rollback.until == "" and rollback.reason == "p99 up"
    assert rollback.configs["1.0.0"]["environment"] == {"FOO": "1"}
    at = keep.deployment_replay("m", at=configure.at)
    assert [p.revision for p in at] == [configure.revision]
    assert at[0].configs["1.0.1"]["loader"]["timeout"] == 5
    assert keep.deployment_replay("m", at="2000-01-01T00:00Z") == []
    with pytest.raises(InvalidInputError, match="invalid time"):
        keep.deployment_replay("m", at="yesterday-ish")


HOSTILE = [
    ("loader: {timeout: .inf}\n", "positive number of seconds"),
    ("loader: {timeout: -1}\n", "positive number of seconds"),
    ("loader: {timeout: true}\n", "positive number of seconds"),
    ("loader: {threads: 0}\n", "whole number"),
    ("loader: {threads: 2.5}\n", "whole number"),
    ("loader: {isolation: vm}\n", "isolation"),
    ("loader: {isolation: inline}\nenvironment: {FOO: x}\n", "cannot have environment"),
    ("loader: {memory: 3}\n", "unknown key loader.memory"),
    ("routes: {}\n", "unknown key routes"),
    ("environment: {FOO: 1}\n", "quote numbers"),
    ("environment: {'FOO BAR': x}\n", "is not a name"),
    ("environment: {'A=B': x}\n", "is not a name"),
    ("environment: {MODELKEEP_KEEP: /elsewhere}\n", "modelkeep's own"),
    ('environment: {FOO: "a\\0b"}\n', "NUL"),
    ("- a list\n", "is not a mapping"),
    ("loader: [1, 2]\n", "loader is not a mapping"),
    ("a: &a [*a]\n", "not valid YAML"),
    ("loader: {timeout: 1\n", "not valid YAML"),
]


@pytest.mark.parametrize(("text", "problem"), HOSTILE)
def test_bad_configuration_files_are_one_clear_error(tmp_path, text, problem):
    path = tmp_path / "deploy.yaml"
    path.write_text(text)
    with pytest.raises(InvalidDeployConfigError, match=problem) as caught:
        load_config_file(path)
    assert str(path) in caught.value.message and "\n" not in caught.value.message


def test_unreadable_binary_and_huge_files_are_refused(tmp_path):
    with pytest.raises(InvalidDeployConfigError, match="cannot be read"):
        load_config_file(tmp_path / "missing.yaml")
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00loader")
    with pytest.raises(InvalidDeployConfigError, match="not UTF-8"):
        load_config_file(tmp_path / "bin.yaml")
    (tmp_path / "big.yaml").write_text("# " + "x" * (1024 * 1024 + 10))
    with pytest.raises(InvalidDeployConfigError, match="larger than"):
        load_config_file(tmp_path / "big.yaml")


def test_a_refused_configuration_writes_no_event(three_versions, tmp_path):
    keep = three_versions
    keep.deploy("m@1.0.0")
    (tmp_path / "c.yaml").write_text("routing: {steps: '5,100'}\n")
    with pytest.raises(InvalidDeployConfigError, match="routing.steps"):
        keep.deploy("m@1.0.1", canary=True, config=load_config_file(tmp_path / "c.yaml"))
    (tmp_path / "g.yaml").write_text("gates: {max_error_rate: 0.1}\n")
    with pytest.raises(InvalidInputError, match="shape a rollout"):
        keep.deploy("m@1.0.1", config=load_config_file(tmp_path / "g.yaml"))
    assert len(keep.deployment_history("m")) == 1


def test_a_versions_lock_leaves_modelkeep_itself_to_the_gateway():
    from modelkeep.registry.dependency_lock import lock_hash, lock_of

    meta = {"deployment": {"dependencies_lock": ["numpy==1.26.4", "modelkeep==0.1.0",
                                                 " ModelKeep[gateway]>=0.1", "modelkeeper==2",
                                                 "", "numpy==1.26.4"]},
            "technical": {"dependencies": ["torch"]}}
    assert lock_of(meta) == ("modelkeeper==2", "numpy==1.26.4")
    assert lock_of({"technical": {"dependencies": ["torch>=2"]}}) == ("torch>=2",)
    assert lock_of({}) == ()
    assert lock_hash(("a==1", "b==2")) == lock_hash(("b==2", "a==1"))
    assert lock_hash(("a==1",)) != lock_hash(("a==1",), python="cpython-3.99")
