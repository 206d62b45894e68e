"""Fixtures of the document and standard-format tests: model ``ranker`` in two versions."""

from __future__ import annotations

from pathlib import Path

import pytest
from documents_support import two_versions

from modelkeep.keep import Keep


@pytest.fixture
def ranker(keep: Keep, tmp_path: Path) -> Keep:
    """A keep holding ranker@1.0.0 and ranker@1.1.0 (rich, partly hostile metadata)."""
    two_versions(keep, tmp_path)
    return keep


@pytest.fixture
def cli_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The same two versions in a keep in the current folder, for the command's tests."""
    monkeypatch.chdir(tmp_path)
    keep = Keep.init(tmp_path)
    two_versions(keep, tmp_path)
    keep.close()
    return tmp_path
