"""What registering a folder takes, and when it makes no new version at all."""

from __future__ import annotations

import pytest

from modelkeep.errors import InvalidInputError


def test_an_empty_folder_is_refused(keep, tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(InvalidInputError, match="no files"):
        keep.register("bert", tmp_path / "empty")
    assert keep.models() == []


def test_identical_content_makes_no_new_version(any_keep, make_model, tmp_path):
    model = make_model(tmp_path / "m")
    first = any_keep.register("bert", model, params={"lr": 0.1})
    again = any_keep.register("bert", model, params={"lr": 0.1})
    assert again.unchanged and again.version == first.version == "1.0.0"
    also = any_keep.register("bert", model, params={"lr": 0.1}, bump="minor")
    assert also.unchanged and also.version == "1.0.0"
    assert [v.version for v in any_keep.versions("bert")] == ["1.0.0"]
    forced = any_keep.register("bert", model, params={"lr": 0.1}, allow_same=True)
    assert not forced.unchanged and forced.version == "1.0.1"
    other = any_keep.register("bert", model, params={"lr": 0.2})  # new params: a new version
    assert other.version == "1.0.2"


def test_model_files_knows_the_pointer_suffix():
    """model_files takes the suffix from storage.paths, not from pointers (so a register
    imports no pointer module): it must be the one pointers uses."""
    from modelkeep.registry import model_files
    from modelkeep.storage import pointers

    assert model_files.POINTER_SUFFIX == pointers.POINTER_SUFFIX
