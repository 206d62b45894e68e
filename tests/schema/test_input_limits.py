"""Hostile metadata input: alias bombs, huge documents, deep nesting, huge integers, lone
surrogates. Each is refused with one InvalidMetadataError, fast, in every format."""

from __future__ import annotations

import json
import time

import pytest

from modelkeep.errors import InvalidMetadataError
from modelkeep.limits import MAX_ALIAS_NODES, MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_INT_DIGITS
from modelkeep.schema import ModelMetadata, parse_metadata
from modelkeep.schema.formats import dump_metadata
from modelkeep.schema.yamlio import parse_yaml, update_yaml

HEAD = b"name: m\nversion: 1.0.0\n"


def alias_bomb(levels: int, fan: int = 10) -> bytes:
    """A small YAML document whose aliases expand to fan**levels metric entries."""
    lines = [b"x0: &x0 {" + b", ".join(b"m%d: 1.5" % i for i in range(fan)) + b"}"]
    for level in range(1, levels):
        lines.append(b"x%d: &x%d [" % (level, level)
                     + b", ".join(b"*x%d" % (level - 1) for _ in range(fan)) + b"]")
    return b"\n".join(lines)


def test_an_alias_bomb_is_refused_quickly() -> None:
    # 10 levels of 10 aliases each: under 1 KB that would expand to 10**10 nodes
    bomb = alias_bomb(10) + b"\n" + HEAD + b"components:\n  hyperparameters: *x9\n"
    started = time.monotonic()
    with pytest.raises(InvalidMetadataError, match="aliases that expand to more than"):
        parse_yaml(bomb)
    assert time.monotonic() - started < 2


def test_aliases_expanding_past_the_limit_are_refused() -> None:
    # about 200 nodes per alias, a thousand aliases
    doc = HEAD + b"performance:\n  per_dataset: {" + b", ".join(
        b"d%d: &a%d {" % (i, i) + b", ".join(b"m%d_%d: 0.5" % (i, j) for j in range(100)) + b"}"
        for i in range(10)) + b"}\ncomponents:\n  datasets: ["
    doc += b", ".join(b"{name: n%d, tree: *a%d}" % (k, k % 10) for k in range(MAX_ALIAS_NODES // 100 + 10))
    doc += b"]\n"
    with pytest.raises(InvalidMetadataError, match="aliases that expand to more than"):
        parse_yaml(doc)


def test_modest_aliases_still_work() -> None:
    doc = HEAD + b"components:\n  hyperparameters: &hp {lr: 0.1, depth: 6}\ndeployment:\n  config: *hp\n"
    meta = parse_yaml(doc)
    assert meta.deployment.config == {"lr": 0.1, "depth": 6}


def test_a_recursive_alias_is_refused() -> None:
    doc = HEAD + b"identity_extra: &a [*a]\n"
    with pytest.raises(InvalidMetadataError, match="refers to itself"):
        parse_yaml(doc)


@pytest.mark.parametrize("fmt", ["json", "yaml", "proto"])
def test_a_document_over_the_size_limit_is_refused_before_parsing(fmt: str) -> None:
    data = b" " * (MAX_DOCUMENT_BYTES + 1)
    with pytest.raises(InvalidMetadataError, match="larger than the limit"):
        parse_metadata(data, fmt)  # type: ignore[arg-type]


def test_the_size_limit_applies_to_metadata_files(tmp_path) -> None:
    from modelkeep.schema import load_metadata

    path = tmp_path / "huge.yaml"
    path.write_bytes(HEAD + b"#" * MAX_DOCUMENT_BYTES)
    with pytest.raises(InvalidMetadataError, match="huge.yaml: .*larger than the limit"):
        load_metadata(path)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_deep_nesting_is_refused_in_yaml(depth: int) -> None:
    doc = HEAD + b"components:\n  hyperparameters:\n    x: " + b"[" * depth + b"]" * depth + b"\n"
    with pytest.raises(InvalidMetadataError, match=f"nested more than {MAX_DEPTH} levels"):
        parse_yaml(doc)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_deep_nesting_is_refused_in_json(depth: int) -> None:
    doc = b'{"name": "m", "version": "1.0.0", "x": ' + b"[" * depth + b"]" * depth + b"}"
    with pytest.raises(InvalidMetadataError, match=f"nested more than {MAX_DEPTH} levels"):
        parse_metadata(doc, "json")


def test_deep_nesting_is_refused_when_updating_a_yaml_file() -> None:
    doc = HEAD + b"x: " + b"[" * 100_000 + b"]" * 100_000 + b"\n"
    with pytest.raises(InvalidMetadataError, match="nested more than"):
        update_yaml(doc, ModelMetadata.model_validate({"name": "m", "version": "1.0.0"}))


@pytest.mark.parametrize("digits", ["9" * 5000, "-" + "9" * 5000, "1" * (MAX_INT_DIGITS + 1)])
def test_a_huge_integer_is_one_clear_error(digits: str) -> None:
    yaml_doc = HEAD + f"components:\n  hyperparameters:\n    big: {digits}\n".encode()
    with pytest.raises(InvalidMetadataError, match=f"more than {MAX_INT_DIGITS} digits"):
        parse_yaml(yaml_doc)
    json_doc = ('{"name": "m", "version": "1.0.0", "components": {"hyperparameters": {"big": '
                + digits + "}}}")
    with pytest.raises(InvalidMetadataError, match=f"more than {MAX_INT_DIGITS} digits"):
        parse_metadata(json_doc.encode(), "json")


def test_a_long_integer_within_the_digit_limit_gets_the_range_error() -> None:
    doc = HEAD + b"components:\n  hyperparameters:\n    big: " + b"9" * 40 + b"\n"
    with pytest.raises(InvalidMetadataError, match="components.hyperparameters.big.*int64"):
        parse_yaml(doc)


SURROGATES = [
    ('description: "a\\ud800b"', "identity.description"),
    ('tags: ["\\udcff"]', "identity.tags.0"),
    ('components: {hyperparameters: {lr: "\\ud800"}}', "components.hyperparameters.lr"),
    ('components: {hyperparameters: {"\\ud800": 1}}', "components.hyperparameters"),
    ('performance: {metrics: {"x\\udfff": 1.0}}', "performance.metrics"),
]


@pytest.mark.parametrize(("line", "where"), SURROGATES)
def test_a_lone_surrogate_is_refused_in_yaml_and_json(line: str, where: str) -> None:
    with pytest.raises(InvalidMetadataError, match=f"'{where}'.*surrogate"):
        parse_yaml(HEAD + line.encode() + b"\n")
    key, _, value = line.partition(": ")
    from ruamel.yaml import YAML

    data = {"name": "m", "version": "1.0.0", key: YAML(typ="safe").load(value)}
    with pytest.raises(InvalidMetadataError, match=f"'{where}'.*surrogate"):
        parse_metadata(json.dumps(data).encode(), "json")


def test_what_validates_always_exports() -> None:
    for bad in ({"name": "m\udc80"}, {"description": "\udc80"}, {"tags": ["\ud800"]}):
        with pytest.raises(ValueError, match="surrogate|unicode"):
            ModelMetadata.model_validate({"name": "m", "version": "1.0.0", **bad})
    meta = ModelMetadata.model_validate({"name": "m", "version": "1.0.0", "description": "é ✓ 𝄞"})
    for fmt in ("json", "yaml", "proto"):
        assert parse_metadata(dump_metadata(meta, fmt), fmt) == meta  # type: ignore[arg-type]
