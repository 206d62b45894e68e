"""Fixtures for the CLI tests."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from modelkeep.cli.main import cli


@pytest.fixture
def project(tmp_path, monkeypatch, make_model):
    """An initialised keep in the current folder, with a small model folder beside it."""
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0
    make_model(tmp_path / "model")
    return tmp_path
