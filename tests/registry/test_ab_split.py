"""A/B/n arms and splits: parsing (with the bad inputs), exact shares, and a split change that
moves exactly the least possible share of users, checked on the segments and on real keys."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelkeep.errors import InvalidInputError
from modelkeep.gateway.routing import unit_point
from modelkeep.registry.ab_split import (
    UNITS,
    arm_at,
    equal,
    initial_segments,
    moved_share,
    parse_arms,
    parse_split,
    resplit,
    shares,
)

USERS = [f"user-{i}" for i in range(20_000)]


def test_arms_and_splits_are_parsed():
    assert parse_arms("A=1.0.0, B=1.1.0,C=production") == (
        ("A", "1.0.0"), ("B", "1.1.0"), ("C", "production"))
    assert parse_split("70/30", ["A", "B"]) == {"A": 700_000, "B": 300_000}
    assert parse_split("33.3333/33.3333/33.3334", "ABC") == {"A": 333_333, "B": 333_333, "C": 333_334}
    assert parse_split("100/0", ["A", "B"]) == {"A": UNITS, "B": 0}
    assert sum(equal("ABC").values()) == UNITS


@pytest.mark.parametrize("text, fragment", [
    ("A=1.0.0", "2 to 26 arms"),
    ("A=1.0.0,B", "is not LABEL=VERSION"),
    ("A=1.0.0,=1.1.0", "is not LABEL=VERSION"),
    ("A=1.0.0,B=", "is not LABEL=VERSION"),
    ("A=1.0.0,1B=1.1.0", "is not LABEL=VERSION"),
    ("A=1.0.0,A=1.1.0", "its own label and its own version"),
    ("A=1.0.0,B=1.0.0", "its own label and its own version"),
    ("A=1.0.0,B=1.1.0;rm -rf /=2", "is not LABEL=VERSION"),
    ("A=1.0.0,stable=1.1.0", "'stable' is reserved"),
    (",".join(f"a{i}=1.0.{i}" for i in range(27)), "2 to 26 arms"),
])
def test_bad_arms_are_refused_with_one_line(text, fragment):
    with pytest.raises(InvalidInputError, match=fragment) as caught:
        parse_arms(text)
    assert "\n" not in caught.value.message


@pytest.mark.parametrize("text, fragment", [
    ("50/40", "adds up to 90, not 100"),
    ("60/60", "adds up to 120, not 100"),
    ("50/50/0", "3 parts for 2 arms"),
    ("100", "1 parts for 2 arms"),
    ("50/-50", "not percents"),
    ("fifty/50", "not percents"),
    ("50.00001/49.99999", "not percents"),
    ("1e2/0", "not percents"),
    ("nan/50", "not percents"),
    ("", "1 parts for 2 arms"),
])
def test_bad_splits_are_refused_with_one_line(text, fragment):
    with pytest.raises(InvalidInputError, match=fragment):
        parse_split(text, ["A", "B"])


def test_initial_segments_are_consecutive_in_the_arms_order():
    segments = initial_segments({"A": 500_000, "B": 0, "C": 500_000})
    assert segments == ((0, 500_000, "A"), (500_000, UNITS, "C"))
    assert arm_at(segments, 0.0) == "A" and arm_at(segments, 0.5) == "C"
    assert arm_at(segments, 0.9999999999) == "C"


splits = st.lists(st.integers(min_value=0, max_value=100), min_size=3, max_size=3).filter(
    lambda w: sum(w) > 0)


def _units(weights: list[int]) -> dict[str, int]:
    raw = [w * UNITS // sum(weights) for w in weights]
    raw[0] += UNITS - sum(raw)
    return dict(zip("ABC", raw, strict=True))


@given(first=splits, changes=st.lists(splits, min_size=1, max_size=6))
@settings(max_examples=300)
def test_every_split_change_moves_exactly_the_least_possible_share(first, changes):
    segments = initial_segments(_units(first))
    for weights in changes:
        target = _units(weights)
        before = shares(segments)
        after_segments = resplit(segments, target)
        assert {k: v for k, v in shares(after_segments).items() if v} == \
            {k: v for k, v in target.items() if v}
        assert sum(e - s for s, e, _ in after_segments) == UNITS
        assert all(a[1] <= b[0] for a, b in zip(after_segments, after_segments[1:], strict=False))
        # the least any reassignment can move: the total variation distance of the splits
        least = sum(max(0, target[k] - before.get(k, 0)) for k in target) / UNITS
        assert moved_share(segments, after_segments) == pytest.approx(least, abs=1e-9)
        segments = after_segments


def test_users_that_change_arm_are_the_minimal_share_within_sampling_error():
    seed = "5eed"
    points = [unit_point(seed, user) for user in USERS]
    steps = [{"A": 333_334, "B": 333_333, "C": 333_333}, {"A": 500_000, "B": 250_000, "C": 250_000},
             {"A": 200_000, "B": 600_000, "C": 200_000}, {"A": 700_000, "B": 300_000, "C": 0}]
    segments = initial_segments(steps[0])
    for target in steps[1:]:
        after = resplit(segments, target)
        changed = sum(arm_at(segments, p) != arm_at(after, p) for p in points) / len(USERS)
        least = sum(max(0, target[k] - shares(segments).get(k, 0)) for k in target) / UNITS
        assert abs(changed - least) < 5 * (least * (1 - least) / len(USERS)) ** 0.5 + 1e-3
        observed = {k: sum(arm_at(after, p) == k for p in points) / len(USERS) for k in target}
        for k, units in target.items():
            p = units / UNITS
            assert abs(observed[k] - p) < 5 * (max(p * (1 - p), 1e-4) / len(USERS)) ** 0.5
        segments = after
