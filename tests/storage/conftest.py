"""Fixtures for the storage tests: a bare object store and a SHA-256 index beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.sha256index import Sha256Index


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    """An empty object store in ``tmp_path/k`` (a module may define its own)."""
    return ObjectStore(tmp_path / "k" / "objects", tmp_path / "k" / "tmp")


@pytest.fixture
def index(tmp_path: Path) -> Sha256Index:
    """The SHA-256 index of that keep folder."""
    return Sha256Index(tmp_path / "k" / "sha256")
