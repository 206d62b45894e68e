"""pyproject.toml stays buildable and CI's tools stay pinned."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PYPROJECT = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())


def test_license_is_an_spdx_expression() -> None:
    # the table form ({text = ...}) stops building with setuptools after 2027-02-18 (PEP 639)
    assert isinstance(PYPROJECT["project"]["license"], str)
    assert re.fullmatch(r"[A-Za-z0-9.+-]+", PYPROJECT["project"]["license"])


def test_the_dev_tools_ci_runs_are_pinned() -> None:
    test_extra = PYPROJECT["project"]["optional-dependencies"]["test"]
    for tool in ("ruff", "mypy"):
        [spec] = [r for r in test_extra if re.match(rf"{tool}\b", r)]
        assert re.fullmatch(rf"{tool}==[0-9.]+", spec), spec
