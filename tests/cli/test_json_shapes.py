"""The --json output of every command group keeps its keys, now that Keep returns result types.

``json_shapes.json`` holds the key shape of each answer as the commands printed it when Keep
still returned dicts (recorded with ``python tests/json_session.py DIR`` on that code). A
renamed or dropped field of a result type changes a script's input: these tests catch it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from json_session import session, shape

EXPECTED: dict[str, Any] = json.loads((Path(__file__).parent / "json_shapes.json").read_text())


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Every command's JSON answer from one session on a real keep (run once: it is slow)."""
    here, run_id = os.getcwd(), os.environ.get("MODELKEEP_RUN_ID")
    try:
        yield session(tmp_path_factory.mktemp("json-session"))
    finally:
        os.chdir(here)
        if run_id is not None:
            os.environ["MODELKEEP_RUN_ID"] = run_id


def _check(answers: dict[str, Any], *labels: str) -> None:
    for label in labels:
        assert shape(answers[label]) == EXPECTED[label], label


def test_every_answer_is_checked(answers: dict[str, Any]) -> None:
    assert sorted(answers) == sorted(EXPECTED)


def test_registry_commands(answers: dict[str, Any]) -> None:
    _check(answers, "register", "list", "list NAME", "show", "diff")
    assert answers["show"]["aliases"] == ["production"]
    assert answers["show"]["records"][0]["value"] == "shipped"


def test_alias_commands(answers: dict[str, Any]) -> None:
    _check(answers, "alias list", "alias history")
    assert answers["alias list"] == {"production": "1.0.0"}


def test_storage_commands(answers: dict[str, Any]) -> None:
    _check(answers, "checkout", "fsck", "gc", "add", "checkout pointers", "export-lfs",
           "import-lfs")
    assert answers["fsck"]["ok"] is True and answers["gc"]["dry_run"] is True
    assert answers["add"][0]["path"] == "tracked" and "transfer" not in answers[
        "checkout pointers"]


def test_remote_commands(answers: dict[str, Any]) -> None:
    _check(answers, "remote list", "push", "pull", "pull pointers")
    assert answers["remote list"]["origin"]["url"].endswith("remote")
    assert answers["pull pointers"]["transfer"] is None  # everything was here already


def test_run_commands(answers: dict[str, Any]) -> None:
    _check(answers, "run start", "runs list", "runs show", "runs compare", "runs metrics")
    assert "pk" not in answers["runs show"]
    assert answers["runs compare"]["changed"] == {"params": ["lr"], "metrics": ["loss"]}


def test_dataset_commands(answers: dict[str, Any]) -> None:
    _check(answers, "datasets list", "datasets show")
    assert answers["datasets show"]["runs"][0]["role"] == "train"
