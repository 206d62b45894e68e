"""A snapshot registered without a metadata file is built without pydantic (registry/snapshot.py
``_plain_snapshot``, schema/blank.py), and must equal, value for value and key for key, what
the pydantic models make of the same fields; anything it cannot vouch for goes to the models."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelkeep.errors import InvalidMetadataError
from modelkeep.redact import redact_metadata
from modelkeep.registry import snapshot as snapshot_module
from modelkeep.registry.snapshot import build_snapshot
from modelkeep.schema import _blank_data, blank

GOOD = {
    "text": st.text(min_size=1, max_size=6),
    "scalar": st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=4)
    | st.floats(allow_nan=False, allow_infinity=False, min_value=-9.2e18, max_value=9.2e18),
    "metric": st.floats() | st.sampled_from([0.0, -0.0, math.nan, math.inf, -math.inf]),
    "stamp": st.datetimes(min_value=datetime(1000, 1, 1)).map(
        lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
    "tree": st.binary(min_size=32, max_size=32).map(bytes.hex),
    "size": st.integers(0, 2**63 - 1),
    "inferred": st.none() | st.just({}) | st.fixed_dictionaries({"fingerprint": st.fixed_dictionaries(
        {}, optional={"value": st.none() | st.text(max_size=6),
                      "source": st.sampled_from([None, "declared", "inferred"]),
                      "inferred_from": st.none() | st.text(max_size=6)})}),
}
BAD = {
    "text": st.sampled_from(["\ud800", "a\udfff", ""]),
    "scalar": st.floats() | st.integers() | st.sampled_from([2**63, 9.3e18, 9223372036854775807.0,
                                                              "\ud800", None, b"x", [1]]),
    "metric": st.integers() | st.sampled_from(["NaN", None, True]),
    "stamp": st.sampled_from(["2026-02-30T00:00:00.000000Z", "0999-01-01T00:00:00.000000Z",
                              "2026-01-01T24:00:00.000000Z", "2026-01-01T00:00:00Z",
                              "2026-01-01T00:00:00.5+01:00"]),
    "tree": st.sampled_from(["A" * 64, "a" * 63, "g" * 64]),
    "size": st.integers(-(2**64), -1) | st.integers(2**63, 2**64),
    "inferred": st.sampled_from([
        {"fingerprint": {"value": "\ud800"}}, {"fingerprint": {"source": "guessed"}},
        {"fingerprint": {"value": 5}}, {"fingerprint": {"other": "x"}}, {"fingerprint": "x"},
        {"signature": {"inputs": [], "source": "inferred"}},  # valid, but left to the models
    ]),
}


def fields(kinds: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    text = kinds["text"]
    return st.fixed_dictionaries({
        "name": text, "version": text, "created": kinds["stamp"], "author": text,
        "tree_id": kinds["tree"], "size": kinds["size"],
        "params": st.dictionaries(text, kinds["scalar"], max_size=4),
        "metrics": st.dictionaries(text, kinds["metric"], max_size=4),
        "inferred": kinds["inferred"],
    })


# each field valid, or one of them (at least) not
ANY_FIELDS = fields(GOOD) | fields({k: st.one_of(GOOD[k], BAD[k]) for k in GOOD})


def both(**fields: Any) -> tuple[Any, Any]:
    """(plain result or None, the models' result or the error they raise)."""
    plain = snapshot_module._plain_snapshot(**fields)
    plain = redact_metadata(plain) if plain is not None else None  # as build_snapshot does
    args = {k: v for k, v in fields.items() if k != "name"}
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(snapshot_module, "_plain_snapshot", lambda **_: None)
            models: Any = build_snapshot(None, name=fields["name"], **args)
    except InvalidMetadataError as exc:
        models = exc
    return plain, models


@settings(max_examples=300, deadline=None)
@given(fields(GOOD))
def test_plain_snapshot_takes_valid_fields_as_the_models_do(given_fields: dict[str, Any]) -> None:
    plain, models = both(**given_fields)
    assert plain is not None
    assert json.dumps(plain, allow_nan=True) == json.dumps(models, allow_nan=True)  # order too


@settings(max_examples=400, deadline=None)
@given(ANY_FIELDS)
def test_plain_snapshot_never_takes_what_the_models_refuse(given_fields: dict[str, Any]) -> None:
    plain, models = both(**given_fields)
    if plain is None:
        return  # left to the models: nothing to compare
    assert not isinstance(models, Exception), f"plain accepted what the models refuse: {models}"
    assert json.dumps(plain, allow_nan=True) == json.dumps(models, allow_nan=True)


def test_plain_snapshot_takes_what_the_registry_makes() -> None:
    fields = dict(name="resnet", version="1.2.0", created="2026-12-02T02:20:00.000001Z",
                  author="ana", tree_id="ab" * 32, size=5,
                  params={"lr": 0.001, "epochs": 3, "opt": "adam", "nesterov": True},
                  metrics={"acc": 0.93, "loss": math.nan, "gap": -math.inf})
    plain, models = both(**fields)
    assert plain is not None and plain == models
    assert plain["performance"]["metrics"] == {"acc": 0.93, "gap": "-Infinity", "loss": "NaN"}
    assert list(plain["components"]["hyperparameters"]) == ["epochs", "lr", "nesterov", "opt"]
    assert build_snapshot(None, **{k: v for k, v in fields.items()})["identity"]["created"] == (
        "2026-12-02T02:20:00.000001Z")


@pytest.mark.parametrize("params, metrics", [
    ({"lr": "\ud800"}, {}), ({"n": 2**63}, {}), ({"x": math.inf}, {}), ({"": 1}, {}),
    ({}, {"\udfff": 1.0}), ({"big": 1e19}, {}),
])
def test_what_plain_cannot_vouch_for_gets_the_models_error(params: dict, metrics: dict) -> None:
    plain, models = both(name="m", version="1.0.0", created="2026-01-01T00:00:00.000000Z",
                         author="a", tree_id="0" * 64, size=1, params=params, metrics=metrics)
    assert plain is None
    assert isinstance(models, InvalidMetadataError)
    with pytest.raises(InvalidMetadataError, match=re.escape(str(models))):
        build_snapshot(None, name="m", version="1.0.0", created="2026-01-01T00:00:00.000000Z",
                       author="a", tree_id="0" * 64, size=1, params=params, metrics=metrics)


def test_generated_default_document_is_current() -> None:
    assert blank.blank_document() is not None, (
        "the schema changed: run `python -m modelkeep.schema.blank` to regenerate _blank_data.py")
    assert json.dumps(blank.blank_document()) == json.dumps(blank._from_models())


@pytest.fixture
def fresh_check() -> Iterator[None]:
    """Each test checks the generated document's freshness itself (it is cached a process)."""
    blank.current_json.cache_clear()
    yield
    blank.current_json.cache_clear()


def test_a_stale_default_document_is_not_used(
    monkeypatch: pytest.MonkeyPatch, fresh_check: None
) -> None:
    monkeypatch.setattr(_blank_data, "SOURCES_ID", "0" * 32)
    assert blank.blank_document() is None
    assert blank.default_document() == blank._from_models()
    snap = build_snapshot(None, name="m", version="1.0.0", created="2026-01-01T00:00:00.000000Z",
                          author="a", tree_id="0" * 64, size=1, params={}, metrics={})
    assert snap["identity"]["created"] == "2026-01-01T00:00:00Z"


def test_a_schema_edit_makes_the_document_stale(
    monkeypatch: pytest.MonkeyPatch, fresh_check: None
) -> None:
    real = blank.Path.read_bytes

    def edited(self: Any) -> bytes:
        data = real(self)
        return data + b"\n# edited\n" if self.name == "specs.py" else data

    monkeypatch.setattr(blank.Path, "read_bytes", edited)
    assert blank.blank_document() is None


def test_plain_snapshot_takes_a_safetensors_fingerprint() -> None:
    found = {"fingerprint": {"value": "cd" * 32, "source": "inferred",
                             "inferred_from": "safetensors header"}}
    plain, models = both(name="m", version="1.0.0", created="2026-01-01T00:00:00.000000Z",
                         author="a", tree_id="0" * 64, size=1, params={}, metrics={},
                         inferred=found)
    assert plain is not None
    assert json.dumps(plain) == json.dumps(models)
    assert plain["technical"]["fingerprint"] == found["fingerprint"]


def test_registering_without_metadata_imports_no_pydantic() -> None:
    probe = (
        "import sys\n"
        "from modelkeep.registry.snapshot import build_snapshot\n"
        "s = build_snapshot(None, name='m', version='1.0.0', created='2026-01-01T00:00:00.000000Z',"
        " author='a', tree_id='0' * 64, size=1, params={'lr': 0.1}, metrics={'acc': 0.5},"
        " inferred={'fingerprint': {'value': '0' * 64, 'source': 'inferred',"
        " 'inferred_from': 'safetensors header'}})\n"
        "assert s['identity']['id'] == 'm@1.0.0'\n"
        "print(sorted(m for m in sys.modules if m.startswith(('pydantic', 'modelkeep.schema.'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert eval(out) == ["modelkeep.schema._blank_data", "modelkeep.schema.blank"]
