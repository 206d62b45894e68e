"""Aliases move append-only: every past target is answerable with --at."""

from __future__ import annotations

import time

import pytest
from support import pass_validation

from modelkeep.clock import now_iso
from modelkeep.errors import AliasNotFoundError, InvalidNameError


@pytest.fixture
def three_versions(any_keep, make_model, tmp_path):
    model = make_model(tmp_path / "m")
    for _ in range(3):
        any_keep.register("m", model, allow_same=True)  # three numbers for one content
    pass_validation(any_keep, "m@1.0.0", "m@1.0.1", "m@1.0.2")  # production is protected
    return any_keep


def test_alias_moves_and_history(three_versions):
    keep = three_versions
    keep.set_alias("m", "production", "1.0.0", reason="first release")
    t_first = now_iso()
    time.sleep(0.01)
    keep.set_alias("m", "production", "1.0.2")
    assert keep.resolve("m@production").version == "1.0.2"
    assert keep.resolve("m@production", at=t_first).version == "1.0.0"
    history = keep.alias_history("m", "production")
    assert [(h.version, h.reason) for h in history] == [("1.0.0", "first release"), ("1.0.2", "")]
    assert all(h.author for h in history)


def test_alias_at_a_time_before_it_existed_is_not_found(three_versions):
    keep = three_versions
    before = now_iso()
    time.sleep(0.01)
    keep.set_alias("m", "staging", "1.0.1")
    with pytest.raises(AliasNotFoundError, match="not set at"):
        keep.resolve("m@staging", at=before)


def test_removed_alias_keeps_history(three_versions):
    keep = three_versions
    keep.set_alias("m", "champion", "1.0.1")
    keep.remove_alias("m", "champion")
    with pytest.raises(AliasNotFoundError):
        keep.resolve("m@champion")
    assert [h.version for h in keep.alias_history("m", "champion")] == ["1.0.1", None]
    assert keep.aliases("m") == {}


def test_alias_names_are_checked(three_versions):
    with pytest.raises(InvalidNameError, match="reserved"):
        three_versions.set_alias("m", "latest", "1.0.0")
    with pytest.raises(InvalidNameError):
        three_versions.set_alias("m", "1.0.0", "1.0.0")


def test_unknown_alias_suggests_near_miss(three_versions):
    three_versions.set_alias("m", "production", "1.0.0")
    with pytest.raises(AliasNotFoundError, match="did you mean 'production'"):
        three_versions.resolve("m@prodution")


def test_show_lists_current_aliases(three_versions):
    three_versions.set_alias("m", "production", "1.0.1")
    three_versions.set_alias("m", "canary", "1.0.1")
    assert three_versions.show("m@1.0.1")["aliases"] == ["canary", "production"]
