"""Model names, alias names and references: the whole string must match, trailing newline too."""

from __future__ import annotations

import pytest

from modelkeep._names import check_model_name
from modelkeep.errors import InvalidNameError
from modelkeep.registry.refs import check_alias_name, parse_ref


@pytest.mark.parametrize("name", ["bert\n", "bert\r", "bert\x00", "\nbert", "be\nrt", "../x", "a/b"])
def test_a_model_name_with_a_line_break_or_slash_is_refused(name: str) -> None:
    with pytest.raises(InvalidNameError):
        check_model_name(name)
    with pytest.raises(InvalidNameError):
        parse_ref(f"{name}@1.0.0")


@pytest.mark.parametrize("alias", ["production\n", "prod\r", "prod\x00", "pro/d", ".."])
def test_an_alias_with_a_line_break_or_slash_is_refused(alias: str) -> None:
    with pytest.raises(InvalidNameError):
        check_alias_name(alias)
    with pytest.raises(InvalidNameError):
        parse_ref(f"bert@{alias}")


def test_a_model_name_ending_in_a_newline_is_not_registered(keep, make_model, tmp_path) -> None:
    with pytest.raises(InvalidNameError):
        keep.register("bert\n", make_model(tmp_path / "m"))
    keep.register("bert", make_model(tmp_path / "m"))
    with pytest.raises(InvalidNameError):
        keep.set_alias("bert", "production\n", "1.0.0")
    assert keep.models()[0].name == "bert" and keep.aliases("bert") == {}
