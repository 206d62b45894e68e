"""Untrusted text in YAML and Markdown stays text, whatever it holds (hypothesis), read back
with PyYAML (what huggingface_hub parses front matter with) and ruamel.yaml."""

from __future__ import annotations

import io
import math
import re

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from modelkeep.registry.standards.text import md_block, md_inline, yaml_document, yaml_scalar

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=80)
NASTY = st.sampled_from(["---", "...", "# h", "- x", "key: value", '"', "'", "\\", "\n---\n", "\r\n",
                         "\x85", "\u2028", "\ufeff", "\x1b[2J", "<script>", "|", "`", "1. x", "{a: 1}",
                         "&amp;", "*", "!tag", "%YAML 1.1", "null", "yes", "0x10", "1e5", ": ",
                         "Yes", "NULL", "On", "True", "~", "0o17", "1_000", "12:30"])
STRINGS = st.one_of(TEXT, st.lists(st.one_of(TEXT, NASTY), max_size=6).map("".join))
SCALARS = st.one_of(STRINGS, st.integers(-(2**63), 2**63 - 1), st.booleans(), st.none(),
                    st.floats(allow_nan=True, allow_infinity=True))


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return a == b and type(a) is type(b)


@settings(max_examples=400, deadline=None)
@given(key=STRINGS, value=SCALARS, items=st.lists(SCALARS, max_size=4))
def test_yaml_reads_back_every_value_with_its_type(key: str, value: object, items: list[object]) -> None:
    doc = {key: value, "list": items, "nested": {"inner": [{"v": value}]}}
    text = yaml_document(doc)
    for loaded in (yaml.safe_load(text), YAML(typ="safe", pure=True).load(io.StringIO(text))):
        assert set(loaded) == {key, "list", "nested"}
        assert _same(loaded[key], value)
        assert all(_same(a, b) for a, b in zip(loaded["list"], items, strict=True))
        assert _same(loaded["nested"]["inner"][0]["v"], value)
    # no line can end a front matter or a YAML document
    assert not any(line.rstrip() in ("---", "...") for line in text.splitlines())


@settings(max_examples=300, deadline=None)
@given(STRINGS)
def test_markdown_text_has_no_markup_left(text: str) -> None:
    inline = md_inline(text)
    assert "\n" not in inline and "\r" not in inline and "<" not in inline
    assert not re.search(r"(?<!\\)[|*_`\[\]~]", inline.replace("\\\\", ""))
    for line in md_block(text).split("\n"):
        assert not re.match(r"^(#|-|\+|=|>|\d+[.)](\s|$)|\s)", line), line
        assert "<" not in line and not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]", line)


def test_words_yaml_1_1_reads_as_booleans_stay_strings_as_keys() -> None:
    for word in ("Yes", "NO", "on", "True", "Null", "y"):
        assert list(yaml.safe_load(yaml_document({word: 1}))) == [word]


def test_floats_keep_their_type_in_yaml_1_1() -> None:
    assert yaml.safe_load(yaml_scalar(1e-05)) == 1e-05
    assert yaml.safe_load(yaml_scalar(1e20)) == 1e20
    assert yaml_scalar(float("inf")) == ".inf" and yaml_scalar("yes") == '"yes"'
