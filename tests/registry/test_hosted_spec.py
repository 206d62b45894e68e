"""Hosted specs and prices: what is accepted, what is refused in one line, and exact money."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelkeep.config import check_config
from modelkeep.errors import InvalidInputError
from modelkeep.registry.hosted import (
    DEFAULT_MAX_TOKENS,
    Price,
    parse_spec,
    read_spec_file,
    spec_from_stored,
    to_micros,
)
from modelkeep.registry.loaders.hosted import request_body, worst_case

GOOD = {"provider": "openai", "model": "gpt-4o-mini",
        "parameters": {"temperature": 0.2, "max_tokens": 64, "system_prompt": "Be brief."},
        "price": {"currency": "USD", "input_per_1k": 0.15, "output_per_1k": "0.60"}}


def test_a_good_spec_round_trips_through_its_stored_form():
    spec = parse_spec(GOOD)
    assert spec.price == Price("USD", 0, 150_000, 600_000)
    assert (spec.temperature, spec.max_tokens, spec.system_prompt) == (0.2, 64, "Be brief.")
    assert spec_from_stored(spec.to_json()) == spec
    assert spec.to_json() == parse_spec(json.loads(spec.to_json())).to_json()


def test_a_spec_without_parameters_asks_for_the_default_max_tokens():
    spec = parse_spec({"provider": "p", "model": "m", "price": {"currency": "EUR", "per_call": 0.002}})
    assert spec.max_tokens == DEFAULT_MAX_TOKENS and spec.price.per_call == 2000


@pytest.mark.parametrize("price, fragment", [
    ({"currency": "USD", "per_call": "ten"}, "price.per_call must be a number, got 'ten'"),
    ({"currency": "USD", "per_call": True}, "must be a number"),
    ({"currency": "USD", "per_call": [1]}, "must be a number"),
    ({"currency": "USD", "per_call": float("nan")}, "finite amount"),
    ({"currency": "USD", "input_per_1k": "inf", "output_per_1k": 1}, "finite amount"),
    ({"currency": "USD", "per_call": -0.01}, "at least 0"),
    ({"currency": "USD", "per_call": 0.0000001}, "finer than a millionth"),
    ({"currency": "usd", "per_call": 1}, "three-letter ISO 4217"),
    ({"per_call": 1}, "three-letter ISO 4217"),
    ({"currency": "USD"}, "names no amount"),
    ({"currency": "USD", "per_token": 1}, "unknown price key"),
    ("free", "needs a price"),
])
def test_a_price_that_is_not_a_number_is_refused_in_one_line(price, fragment):
    with pytest.raises(InvalidInputError) as caught:
        parse_spec({**GOOD, "price": price})
    assert fragment in caught.value.message and "\n" not in caught.value.message


@pytest.mark.parametrize("change, fragment", [
    ({"base_url": "http://evil.example/v1"}, "never from a version"),
    ({"api_key": "sk-123"}, "never from a version"),
    ({"provider": "../etc"}, "provider must be"),
    ({"provider": None}, "provider must be"),
    ({"model": ""}, "model must be"),
    ({"parameters": {"temperature": 3}}, "temperature"),
    ({"parameters": {"max_tokens": 0}}, "max_tokens"),
    ({"parameters": {"max_tokens": 1.5}}, "max_tokens"),
    ({"parameters": {"top_k": 3}}, "parameters must be"),
])
def test_bad_specs_are_refused(change, fragment):
    with pytest.raises(InvalidInputError, match=fragment):
        parse_spec({**GOOD, **change})


def test_spec_files_that_are_not_yaml_or_are_missing_are_one_line(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("provider: [unclosed\n")
    with pytest.raises(InvalidInputError, match="not valid YAML or JSON"):
        read_spec_file(bad)
    with pytest.raises(InvalidInputError, match="cannot read hosted spec"):
        read_spec_file(tmp_path / "missing.yaml")


@given(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**7), st.integers(0, 10**7))
def test_a_calls_cost_is_never_under_the_exact_amount(inp, out, pin, pout):
    price = Price("USD", 0, pin, pout)
    exact = (inp * pin + out * pout) / 1000
    assert exact <= price.cost(inp, out) < exact + 1


def test_money_is_exact_in_micro_units():
    assert to_micros("0.1", "x") * 3 == to_micros("0.3", "x") == 300_000
    assert to_micros(10, "x") == 10_000_000


def test_the_upstream_request_takes_only_the_callers_messages_and_caps_max_tokens():
    spec = parse_spec(GOOD)
    body = request_body(spec, {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 10**6,
                               "model": "other", "base_url": "http://evil", "temperature": 1.9,
                               "api_key": "x", "stream": True})
    assert body["model"] == "gpt-4o-mini" and body["max_tokens"] == 64
    assert body["temperature"] == 0.2 and body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert "base_url" not in body and "api_key" not in body
    assert body["stream_options"] == {"include_usage": True}
    # worst case: every prompt byte a token, plus markers, and max_tokens of output
    assert worst_case(spec, body) == spec.price.cost(9 + 8 + 2 + 8 + 8, 64)


@pytest.mark.parametrize("section, fragment", [
    ({"base_url": "ftp://x"}, "base_url must be an http"),
    ({"api_key_env": "K"}, "base_url must be"),
    ({"base_url": "http://x/v1", "api_key": "sk-1"}, "api_key must be absent"),
    ({"base_url": "http://x/v1", "retries": 99}, "retries"),
    ({"base_url": "http://x/v1", "timeout": 0}, "timeout"),
    ({"base_url": "http://x/v1", "proxy": "http://y"}, "proxy must be one of"),
])
def test_provider_tables_are_checked(section, fragment, tmp_path: Path):
    with pytest.raises(InvalidInputError, match=fragment):
        check_config({"providers": {"openai": section}}, tmp_path / "config.toml")
