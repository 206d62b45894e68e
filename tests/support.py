"""Helpers for tests that need something of the machine (a tool, a second filesystem)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest
from click.testing import CliRunner, Result

from modelkeep.cli.main import cli


def skip_outside_ci(reason: str) -> NoReturn:
    """Skip with ``reason`` on a developer's machine; under CI=true the test must run, so fail."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"this test must run in CI, but: {reason}")
    pytest.skip(reason)


def cli_run(*args: str, code: int | None = 0) -> Result:
    """Run the CLI in-process; assert its exit code unless ``code`` is None."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    if code is not None:
        assert result.exit_code == code, result.output
    return result
