"""Fixtures shared by the storage tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelkeep.storage.objects import ObjectStore


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    """An empty object store in ``tmp_path/k`` (quarantine beside its tmp/)."""
    return ObjectStore(tmp_path / "k" / "objects", tmp_path / "k" / "tmp")
