"""Agreement of two answers: the distance is the smallest tolerance at which they agree, and
the bucketed counts give back, for any tolerance on a 1-2-5 step, exactly how many agree."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelkeep.registry.agreement import EDGES, MISMATCH, agreeing, bucket_of, distance, tolerance_edge

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
    max_leaves=20)


@pytest.mark.parametrize("a, b, expected", [
    ({"y": [1, 2]}, {"y": [1.0, 2.0]}, 0.0),                 # 1 and 1.0 are the same number
    ({"a": 1, "b": 2}, {"b": 2, "a": 1}, 0.0),                # key order does not matter
    ([0.5], [0.5001], pytest.approx(1e-4)),                   # absolute below 1
    ([100.0], [101.0], pytest.approx(1 / 101)),               # relative above it
    ({"p": [[0.1, 0.9]]}, {"p": [[0.1, 0.8]]}, pytest.approx(0.1)),  # the worst element
    ("cat", "dog", math.inf),
    (True, 1, math.inf),                                       # a bool is not a number
    ([1, 2], [1, 2, 3], math.inf),
    ({"a": 1}, {"b": 1}, math.inf),
    ([1.0], [math.inf], math.inf),
    (None, 0, math.inf),
])
def test_distances(a, b, expected):
    assert distance(a, b) == expected
    assert distance(b, a) == expected


@given(json_values)
def test_a_value_agrees_exactly_with_itself(value):
    assert distance(value, value) == 0.0


def test_outputs_nested_deeper_than_the_recursion_limit_are_compared():
    deep_a: list = [1.0]
    deep_b: list = [1.5]
    for _ in range(5000):
        deep_a, deep_b = [deep_a], [deep_b]
    assert distance(deep_a, deep_b) == pytest.approx(0.5 / 1.5)


@given(st.lists(st.floats(0, 2000) | st.just(math.inf), max_size=50),
       st.sampled_from(EDGES))
def test_the_buckets_count_exactly_at_every_edge(distances, tolerance):
    histogram: dict[int, int] = {}
    for d in distances:
        histogram[bucket_of(d)] = histogram.get(bucket_of(d), 0) + 1
    assert agreeing(histogram, tolerance) == sum(d <= tolerance for d in distances)


def test_a_tolerance_between_edges_counts_at_the_edge_below():
    assert tolerance_edge(0.007) == 0.005 and tolerance_edge(0.01) == 0.01
    assert tolerance_edge(0) == 0.0 and tolerance_edge(1e9) == 1000.0
    histogram = {bucket_of(0.006): 1, bucket_of(0.004): 1}
    assert agreeing(histogram, 0.007) == 1  # 0.006 counted at 0.005: conservatively
    assert bucket_of(math.inf) == bucket_of(math.nan) == MISMATCH
    assert agreeing({MISMATCH: 3}, 1e9) == 0
