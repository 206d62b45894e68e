"""The published JSON Schema (``modelkeep schema``) and the parser agree, both ways: a document
one accepts the other accepts (checked with jsonschema, formats included, on generated
documents: valid ones, and valid ones mutated where the two could disagree)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from schema_strategies import metadata

from modelkeep.errors import InvalidMetadataError
from modelkeep.schema import ModelMetadata, dump_metadata, json_schema, parse_metadata
from modelkeep.schema.metadata import IDENTITY_FIELDS

VALIDATOR = jsonschema.Draft202012Validator(
    json_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
# values at the edges where JSON Schema's number model and the parser could part
EDGE_VALUES = [2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64, 10**400, 1.5, 5.0, 1e300,
               9.3e18, -9.3e18, 0, -1, -2, True, False, "", "x", "NaN", "Infinity", None, [], {},
               [1], {"k": 1}, "2026-03-18T14:30:00Z", "2026-03-18T14:30:00", "0001-01-01T00:00:00Z",
               "1700000000", "2026-03-18 14:30:00Z", "2026-03-18T14:30Z", "2026-02-30T10:00:00Z",
               "2026-03-18T14:30:60Z", "2026-03-18t14:30:00.5+23:59", "2026-03-18T14:30:00,5Z",
               "0001-01-01T05:00:00+01:00", "9999-12-31T23:00:00-05:00", "9999-12-31T23:00:00-00:00"]


def parser_accepts(document: Any) -> bool:
    try:
        parse_metadata(json.dumps(document, allow_nan=False).encode(), "json")
    except InvalidMetadataError:
        return False
    return True


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in the document a value could be replaced (each key and list item)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def replaced(document: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    copy = dict(document) if isinstance(document, dict) else list(document)
    inner = document.get(path[0]) if isinstance(document, dict) else document[path[0]]
    copy[path[0]] = replaced(inner, path[1:], new)  # type: ignore[index]
    return copy


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid document in any layout (identity nested, flat, or split), sometimes mutated."""
    meta: ModelMetadata = draw(metadata)
    doc = json.loads(dump_metadata(meta, "json"))
    identity = doc.pop("identity")
    lifted = draw(st.sets(st.sampled_from(IDENTITY_FIELDS)))
    doc.update({k: identity.pop(k) for k in lifted})
    if identity or draw(st.booleans()):
        doc["identity"] = identity
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["replace", "insert", "both", "drop"]))
        if kind == "both":  # the same identity field at the top and under identity
            name = draw(st.sampled_from(IDENTITY_FIELDS))
            doc.setdefault("identity", {})[name] = doc[name] = draw(st.sampled_from(["a", "1.0.0"]))
        elif kind == "drop" and (where := paths(doc)):
            path = draw(st.sampled_from(where))
            parent = doc if len(path) == 1 else _at(doc, path[:-1])
            if isinstance(parent, dict):
                del parent[path[-1]]
        elif kind == "insert":
            maps = [p for p in paths(doc) if isinstance(_at(doc, p), dict)] + [()]
            path = draw(st.sampled_from(maps))
            key = draw(st.sampled_from(["k", "name", "version", "identity", "x"]))
            doc = replaced(doc, (*path, key), draw(st.sampled_from(EDGE_VALUES)))
        elif where := paths(doc):
            doc = replaced(doc, draw(st.sampled_from(where)), draw(st.sampled_from(EDGE_VALUES)))
    return doc


def _at(document: Any, path: tuple) -> Any:
    for part in path:
        document = document[part]
    return document


@pytest.mark.parametrize("document", [
    {"name": "x", "identity": {"name": "x", "version": "1.0.0"}},
    {"name": "x", "version": "1.0.0", "components": {"hyperparameters": {"seed": 2**63}}},
    {"name": "x", "version": "1.0.0", "components": {"hyperparameters": {"seed": -(2**63) - 1}}},
    {"name": "x", "version": "1.0.0", "components": {"artifacts": {"size_bytes": 2**63}}},
    {"name": "x", "version": "1.0.0", "performance": {"metrics": {"a": 10**400}}},
    {"identity": {"name": "x"}},
    {"name": "x", "version": "1.0.0", "schema_version": 0},
    {"name": "x", "version": "1.0.0", "schema_version": 2},  # written by a newer modelkeep
])
def test_both_refuse(document: dict[str, Any]) -> None:
    assert not parser_accepts(document)
    assert not VALIDATOR.is_valid(document)


@pytest.mark.parametrize("document", [
    {"name": "x", "identity": {"version": "1.0.0"}},  # split between the two places
    {"name": "x", "version": "1.0.0", "components": {"hyperparameters": {"seed": 2**63 - 1}}},
    {"name": "x", "version": "1.0.0", "components": {"hyperparameters": {"seed": -(2**63)}}},
])
def test_both_accept(document: dict[str, Any]) -> None:
    assert parser_accepts(document)
    assert VALIDATOR.is_valid(document), list(VALIDATOR.iter_errors(document))


@settings(max_examples=300, deadline=None)
@given(document=documents())
def test_the_schema_and_the_parser_agree_on_generated_documents(document: dict[str, Any]) -> None:
    errors = [e.message for e in VALIDATOR.iter_errors(document)]
    assert parser_accepts(document) == (not errors), errors
