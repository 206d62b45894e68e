"""The policy's expression language: what it accepts, what it refuses, and where it says."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelkeep.registry.validation.expressions import (
    MAX_NESTING,
    ExpressionError,
    Ref,
    parse_expression,
)

METRICS = {None: {"accuracy": 0.93, "latency_p95_ms": 10.0, "val/acc": 0.5},
           "production": {"accuracy": 0.925, "latency_p95_ms": 9.5},
           "@1.2.0-rc.1": {"accuracy": 0.8}}


def evaluate(text: str) -> tuple[bool, float, float]:
    return parse_expression(text).evaluate(lambda ref: METRICS[ref.target][ref.metric])


@pytest.mark.parametrize(("text", "holds"), [
    ("accuracy >= 0.9", True),
    ("accuracy >= production.accuracy - 0.005", True),
    ("accuracy >= production.accuracy + 0.01", False),
    ("latency_p95_ms <= 1.1 * production.latency_p95_ms", True),
    ("latency_p95_ms <= 1.05 * production.latency_p95_ms", False),
    ("-accuracy < -0.9", True),
    ("(accuracy - production.accuracy) / production.accuracy > 0.005", True),
    ("2 * 3 + 1 == 7", True),
    ("2 * (3 + 1) != 7", True),
    ("`val/acc` > 0.4", True),
    ("@1.2.0-rc.1.accuracy < accuracy", True),
    ("accuracy>=9e-1", True),
])
def test_expressions_evaluate(text, holds):
    assert evaluate(text)[0] is holds


def test_references_are_listed_in_order():
    parsed = parse_expression("accuracy >= production.accuracy - @1.0.0.loss")
    assert parsed.refs() == [Ref("accuracy"), Ref("accuracy", "production"), Ref("loss", "@1.0.0")]


def test_sides_are_reported():
    assert evaluate("latency_p95_ms <= 1.1 * production.latency_p95_ms") == (True, 10.0, pytest.approx(10.45))


def test_nan_never_holds():
    parsed = parse_expression("loss != 1")
    assert parsed.evaluate(lambda ref: math.nan)[0] is False


@pytest.mark.parametrize(("text", "problem", "position"), [
    ("accuracy >= = 0.9", "unexpected '='", 13),
    ("accuracy >= >= 0.9", "expected a number, a metric name or '(', found '>='", 13),
    ("accuracy 0.9", "expected a comparison (<, <=, >, >=, ==, !=), found '0.9'", 10),
    ("accuracy >= 0.9 >= 0.8", "expected end of expression, found '>='", 17),
    ("accuracy >=", "expected a number, a metric name or '(', found end of expression", 12),
    ("production. >= 1", "expected a metric name after '.', found '>='", 13),
    ("@1.0.0 >= 1", "expected '.' and a metric name after @1.0.0, found '>='", 8),
    ("(accuracy >= 1", "expected ')', found '>='", 11),
    ("__import__('os').system('x') == 0", "unexpected \"'\"", 12),
    ("accuracy ** 2 > 0", "expected a number, a metric name or '(', found '*'", 11),
    ("accuracy >= 0.9; rm -rf /", "unexpected ';'", 16),
    ("accuracy[0] > 1", "unexpected '['", 9),
    ("", "expected a number, a metric name or '(', found end of expression", 1),
])
def test_malformed_expressions_name_the_problem_and_position(text, problem, position):
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text)
    assert (caught.value.problem, caught.value.position) == (problem, position)
    assert str(caught.value) == f"{problem} at position {position}"


def test_deep_nesting_is_refused_not_a_recursion_error():
    with pytest.raises(ExpressionError, match=f"nested more than {MAX_NESTING} deep"):
        parse_expression("(" * 200 + "1" + ")" * 200 + " > 0")
    with pytest.raises(ExpressionError, match="nested more than"):
        parse_expression("-" * 400 + "1 > 0")
    with pytest.raises(ExpressionError, match="longer than 500"):
        parse_expression("1 + " * 200 + "1 > 0")


@given(st.text(max_size=80))
def test_any_text_parses_or_raises_expression_error(text):
    try:
        parsed = parse_expression(text)
    except ExpressionError as exc:
        assert 1 <= exc.position <= len(text) + 1
    else:
        assert parsed.op in ("<", "<=", ">", ">=", "==", "!=")
