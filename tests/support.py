"""Helpers for tests that need something of the machine (a tool, a second filesystem)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def skip_outside_ci(reason: str) -> NoReturn:
    """Skip with ``reason`` on a developer's machine; under CI=true the test must run, so fail."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"this test must run in CI, but: {reason}")
    pytest.skip(reason)
