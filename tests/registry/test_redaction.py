"""Redacting payloads before they are stored: each built-in pattern, the project's own, what is
left alone (features a model needs to be readable), and every bad configuration."""

from __future__ import annotations

import pytest

from modelkeep.errors import InvalidInputError
from modelkeep.registry.redaction import Redactor, check_patterns

R = Redactor()


@pytest.mark.parametrize("text, secret, kind", [
    ("write to alice.smith+tag@mail.example.co.uk today", "alice.smith+tag@mail.example.co.uk", "email"),
    ("key sk-proj-Abc123def456ghi789jkl012 here", "sk-proj-Abc123def456ghi789jkl012", "key"),
    ("token ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "key"),
    ("aws AKIAIOSFODNN7EXAMPLE.", "AKIAIOSFODNN7EXAMPLE", "key"),
    ("Authorization: Bearer abc.def-ghi_jkl012345", "abc.def-ghi_jkl012345", "key"),
    ("api_key=s3cr3t-value&x=1", "s3cr3t-value", "key"),
    ("db postgresql://bob:hunter2pass@db.example/x", "hunter2pass", "key"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl", "eyJhbGciOiJIUzI1NiJ9", "key"),
    ("unknown shape 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b", "9f86d081884c7d659a2feaa0c55ad015", "key"),
    ("card 4111 1111 1111 1111 expires", "4111 1111 1111 1111", "number"),
    ("call +1 555-123-4567.", "555-123-4567", "number"),
    ("iban digits 123456789", "123456789", "number"),
])
def test_each_builtin_pattern_hides_its_secret_and_names_it(text, secret, kind):
    out = R.text(text)
    assert secret not in out and f"[redacted:{kind}]" in out


@pytest.mark.parametrize("text", [
    "pi is 3.14159265358979 and e is 2.718281828",  # fractions are not numbers to hide
    "order 12345678 of 2026-12-02",  # eight digits, a date
    "max_tokens=512 and temperature=0.7",  # not secret names
    "plain words, nothing-to-hide_here",
])
def test_what_is_no_secret_is_left_as_it_was(text):
    assert R.text(text) == text


def test_json_is_walked_strings_keys_and_long_integers_redacted_features_kept():
    payload = {"inputs": {"bob@example.com": "note for carol@example.org",
                          "features": [0.123456789012, 3, -2.5, True, None],
                          "card": 4111111111111111, "count": 12345678},
               "list": [["sk-live-abcdefghijklmnop1234"]]}
    out = R.value(payload)
    assert out == {"inputs": {"[redacted:email]": "note for [redacted:email]",
                              "features": [0.123456789012, 3, -2.5, True, None],
                              "card": "[redacted:number]", "count": 12345678},
                   "list": [["[redacted:key]"]]}


def test_only_the_chosen_builtins_and_the_projects_own_patterns_apply():
    redactor = check_patterns(["email"], {"employee_id": r"EMP-[0-9]{6}"}, "config")
    out = redactor.text("EMP-123456 mailed ann@example.com card 4111111111111111")
    assert out == "[redacted:employee_id] mailed [redacted:email] card 4111111111111111"
    assert check_patterns([], {}, "config").text("ann@example.com") == "ann@example.com"


@pytest.mark.parametrize("builtin, custom, fragment", [
    (["emails"], {}, "unknown redaction 'emails'"),
    ([], {"Bad Name": "x"}, "pattern name 'Bad Name'"),
    ([], {"open": "(unclosed"}, "not a valid regular expression"),
    ([], {"empty": "x*"}, "matches the empty string"),
    ([], {"blank": ""}, "non-empty string"),
    ([], {"number": 5}, "non-empty string"),
])
def test_a_bad_pattern_configuration_is_one_clear_error(builtin, custom, fragment):
    with pytest.raises(InvalidInputError) as caught:
        check_patterns(builtin, custom, "config file x.toml")
    assert fragment in caught.value.message and "\n" not in caught.value.message
    assert caught.value.message.startswith("config file x.toml: ")
