"""Fixtures for validation tests: a model with two versions and policies written to files."""

from __future__ import annotations

from pathlib import Path

import pytest
from validation_helpers import metadata


@pytest.fixture
def two_versions(any_keep, make_model, tmp_path):
    """m@1.0.0 (accuracy 0.92, in production by a forced move) and m@1.0.1 (accuracy 0.93),
    on SQLite and on PostgreSQL."""
    keep = any_keep
    keep.register("m", make_model(tmp_path / "a", b"v1"), metadata=metadata(["x"]),
                  metrics={"accuracy": 0.92, "latency_p95_ms": 10})
    keep.set_alias("m", "production", "1.0.0", force=True, reason="first release")
    keep.register("m", make_model(tmp_path / "b", b"v2"), metadata=metadata(["x"]),
                  metrics={"accuracy": 0.93, "latency_p95_ms": 10.5})
    return keep


@pytest.fixture
def write_policy(tmp_path):
    """write_policy(text) -> the path of a policy file holding ``text``."""
    counter = iter(range(1000))

    def write(text: str) -> Path:
        path = tmp_path / f"policy{next(counter)}.yaml"
        path.write_text(text)
        return path

    return write
