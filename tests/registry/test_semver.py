"""SemVer 2.0.0 parsing, ordering, bumps and modelkeep's bump rules."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelkeep.errors import InvalidVersionError
from modelkeep.registry.semver import (
    FIRST_VERSIONS,
    MAX_LENGTH,
    ChangeSet,
    Version,
    bump_kind,
    check_bump,
    compare,
    latest,
    next_version,
    required_bump,
)

# The regex semver.org suggests, with \d spelled [0-9] so that it stays ASCII.
SEMVER_RE = re.compile(
    r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-((?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)

# semver.org's lists of valid and invalid strings (https://regex101.com/r/vkijKf/1/).
VALID = [
    "0.0.4", "1.2.3", "10.20.30", "1.1.2-prerelease+meta", "1.1.2+meta", "1.1.2+meta-valid",
    "1.0.0-alpha", "1.0.0-beta", "1.0.0-alpha.beta", "1.0.0-alpha.beta.1", "1.0.0-alpha.1",
    "1.0.0-alpha0.valid", "1.0.0-alpha.0valid",
    "1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay", "1.0.0-rc.1+build.1",
    "2.0.0-rc.1+build.123", "1.2.3-beta", "10.2.3-DEV-SNAPSHOT", "1.2.3-SNAPSHOT-123",
    "1.0.0", "2.0.0", "1.1.7", "2.0.0+build.1848", "2.0.1-alpha.1227", "1.0.0-alpha+beta",
    "1.2.3----RC-SNAPSHOT.12.9.1--.12+788", "1.2.3----R-S.12.9.1--.12+meta",
    "1.2.3----RC-SNAPSHOT.12.9.1--.12", "1.0.0+0.build.1-rc.10000aaa-kk-0.1",
    "99999999999999999999999.999999999999999999.99999999999999999", "1.0.0-0A.is.legal",
]  # fmt: skip
INVALID = [
    "1", "1.2", "1.2.3-0123", "1.2.3-0123.0123", "1.1.2+.123", "+invalid", "-invalid",
    "-invalid+invalid", "-invalid.01", "alpha", "alpha.beta", "alpha.beta.1", "alpha.1",
    "alpha+beta", "alpha_beta", "alpha.", "alpha..", "beta", "1.0.0-alpha_beta", "-alpha.",
    "1.0.0-alpha..", "1.0.0-alpha..1", "1.0.0-alpha...1", "1.0.0-alpha....1",
    "1.0.0-alpha.....1", "1.0.0-alpha......1", "1.0.0-alpha.......1", "01.1.1", "1.01.1",
    "1.1.01", "1.2.3.DEV", "1.2-SNAPSHOT", "1.2.31.2.3----RC-SNAPSHOT.12.09.1--..12+788",
    "1.2-RC-SNAPSHOT", "-1.0.3-gamma+b7718", "+justmeta", "9.8.7+meta+meta",
    "9.8.7-whatever+meta+meta",
    "99999999999999999999999.999999999999999999.99999999999999999----RC-SNAPSHOT.12.09.1"
    "--------------------------------..12",
    # and a few of our own
    "", " ", "1.2.3 ", " 1.2.3", "v1.2.3", "V1.2.3", "1.2.3-", "1.2.3+", "1.2.3-+", "1..3",
    "1.2.3-a b", "1.2.3-é", "١.2.3", "1_0.2.3", "1.2.3\n", "0x1.2.3", "1.2.-3",
]  # fmt: skip

SPEC_ORDER = [
    "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
    "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.0", "2.1.0", "2.1.1",
]  # fmt: skip

_small = st.one_of(st.integers(0, 3), st.integers(0, 10**30))
_pre_id = st.one_of(
    _small, st.sampled_from(["alpha", "beta", "rc", "0A", "-", "x-1", "A", "a", "0a"])
)
_build_id = st.sampled_from(["001", "1", "01", "a", "b", "sha-5", "0"])
versions = st.builds(
    Version,
    _small,
    _small,
    _small,
    st.lists(_pre_id, max_size=3).map(tuple),
    st.lists(_build_id, max_size=2).map(tuple),
)
valid_text = st.from_regex(SEMVER_RE, fullmatch=True).filter(lambda s: len(s) <= MAX_LENGTH)


def spec_compare(a: Version, b: Version) -> int:
    """Spec item 11 read literally, as an oracle independent of precedence_key()."""
    for x, y in zip(a.core, b.core, strict=True):
        if x != y:
            return -1 if x < y else 1
    if not a.prerelease or not b.prerelease:
        return (not a.prerelease) - (not b.prerelease)
    for x, y in zip(a.prerelease, b.prerelease, strict=False):
        if x == y:
            continue
        if isinstance(x, int) != isinstance(y, int):
            return -1 if isinstance(x, int) else 1
        return -1 if x < y else 1  # type: ignore[operator]
    return (len(a.prerelease) > len(b.prerelease)) - (len(a.prerelease) < len(b.prerelease))


@pytest.mark.parametrize("text", VALID)
def test_valid_strings_parse_and_round_trip(text: str) -> None:
    assert SEMVER_RE.fullmatch(text)
    assert str(Version.parse(text)) == text


@pytest.mark.parametrize("text", INVALID)
def test_invalid_strings_raise_one_line_error_with_hint(text: str) -> None:
    assert not SEMVER_RE.fullmatch(text)
    with pytest.raises(InvalidVersionError) as info:
        Version.parse(text)
    err = info.value
    assert err.code == "invalid_version" and err.exit_code == 2 and err.http_status == 400
    assert err.message.startswith("invalid version ") and "\n" not in err.message
    assert err.hint
    assert err.fields["version"] == text


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("1.2", "invalid version '1.2': expected MAJOR.MINOR.PATCH, e.g. 1.2.0",
         "write all three numbers: 1.2.0"),
        ("1", "invalid version '1': expected MAJOR.MINOR.PATCH, e.g. 1.2.0",
         "write all three numbers: 1.0.0"),
        ("v1.2.3", "invalid version 'v1.2.3': a version starts with a digit",
         "drop the leading 'v': 1.2.3"),
        ("01.1.1", "invalid version '01.1.1': major '01' has a leading zero", "write 1"),
        ("1.1.01", "invalid version '1.1.01': patch '01' has a leading zero", "write 1"),
        ("1.2.3-0123", "invalid version '1.2.3-0123': numeric pre-release identifier '0123' "
         "has a leading zero", "write 123 instead of 0123"),
        ("1.1.2+.123", "invalid version '1.1.2+.123': build metadata has an empty identifier",
         None),
        ("9.8.7+meta+meta", "invalid version '9.8.7+meta+meta': build metadata identifier "
         "'meta+meta' may only use [0-9A-Za-z-]", None),
        ("1.x.3", "invalid version '1.x.3': minor 'x' is not a number; expected "
         "MAJOR.MINOR.PATCH, e.g. 1.2.0", None),
        (" 1.2.3", "invalid version ' 1.2.3': has surrounding whitespace", "write it as '1.2.3'"),
    ],
)  # fmt: skip
def test_error_messages_say_what_is_wrong(text: str, message: str, hint: str | None) -> None:
    with pytest.raises(InvalidVersionError) as info:
        Version.parse(text)
    assert info.value.message == message
    if hint is not None:
        assert info.value.hint == hint


def test_non_string_and_overlong_input_are_rejected() -> None:
    with pytest.raises(InvalidVersionError, match="expected a string"):
        Version.parse(123)  # type: ignore[arg-type]
    long = "1.0.0-" + "a" * MAX_LENGTH
    with pytest.raises(InvalidVersionError, match="longer than 256") as info:
        Version.parse(long)
    assert len(info.value.message) < 150
    assert str(Version.parse(long[:MAX_LENGTH])) == long[:MAX_LENGTH]


def test_fields_of_a_parsed_version() -> None:
    v = Version.parse("1.0.0-alpha.1.0A+build.007")
    assert (v.major, v.minor, v.patch) == (1, 0, 0)
    assert v.prerelease == ("alpha", 1, "0A")
    assert v.build == ("build", "007")
    assert repr(v) == "Version('1.0.0-alpha.1.0A+build.007')"
    assert v.is_prerelease and not v.is_stable
    assert Version.parse("0.1.0").is_stable and not Version.parse("0.1.0").is_prerelease


@pytest.mark.parametrize(
    "args",
    [(-1, 0, 0), (True, 0, 0), (1.0, 0, 0), (1, 0, 0, ("01",)), (1, 0, 0, ("1",)),
     (1, 0, 0, ("",)), (1, 0, 0, (-1,)), (1, 0, 0, ("a_b",)), (1, 0, 0, (), ("",)),
     (1, 0, 0, (), ("a+b",)), (1, 0, 0, (), (1,))],
)  # fmt: skip
def test_constructor_rejects_what_parse_would(args: tuple) -> None:
    with pytest.raises(InvalidVersionError):
        Version(*args)


@given(valid_text)
def test_parse_accepts_what_the_semver_regex_accepts(text: str) -> None:
    assert str(Version.parse(text)) == text


_heads = st.sampled_from(["1.2.3", "0.0.0", "10.0.1", "1.2", "01.2.3", "v1.2.3", "", "1.2.3.4"])
_tails = st.lists(
    st.sampled_from(["0", "1", "01", "a", "Z", "-", "-", "+", ".", "_", " ", "\u0661"]), max_size=8
).map("".join)
near_misses = st.builds(str.__add__, _heads, _tails)


@given(st.one_of(st.text(alphabet="0129.-+aZv_ \u0661", max_size=14), near_misses))
def test_parse_succeeds_exactly_when_the_regex_matches(text: str) -> None:
    try:
        Version.parse(text)
    except InvalidVersionError:
        assert not SEMVER_RE.fullmatch(text)
    else:
        assert SEMVER_RE.fullmatch(text)


@given(versions)
def test_str_round_trips(v: Version) -> None:
    assert Version.parse(str(v)) == v
    assert hash(Version.parse(str(v))) == hash(v)


def test_spec_precedence_examples() -> None:
    chain = [Version.parse(s) for s in SPEC_ORDER]
    for a, b in zip(chain, chain[1:], strict=False):
        assert a < b and b > a and a <= b and b >= a and a != b
        assert compare(a, b) == -1 and compare(b, a) == 1
    shuffled = chain[:]
    random.Random(7).shuffle(shuffled)
    assert sorted(shuffled) == chain


def test_build_metadata_is_ignored_for_precedence_but_not_equality() -> None:
    a, b, plain = Version.parse("1.0.0+a"), Version.parse("1.0.0+b"), Version.parse("1.0.0")
    assert a != b and a != plain and len({a, b, plain}) == 3
    assert not a < b and not b < a and not a > b
    assert a <= b and b <= a and a >= b and compare(a, b) == 0
    assert sorted([b, plain, a], key=Version.sort_key) == [plain, a, b]
    numeric = [Version.parse(s) for s in ("1.0.0+10", "1.0.0+9", "1.0.0+09", "1.0.0+x")]
    assert [str(v) for v in sorted(numeric, key=Version.sort_key)] == [
        "1.0.0+09", "1.0.0+9", "1.0.0+10", "1.0.0+x"
    ]  # fmt: skip


def test_comparing_with_other_types() -> None:
    v = Version.parse("1.0.0")
    assert v != "1.0.0"
    with pytest.raises(TypeError):
        _ = v < "1.0.0"  # type: ignore[operator]


@given(versions, versions)
def test_ordering_matches_the_spec_text(a: Version, b: Version) -> None:
    c = spec_compare(a, b)
    assert compare(a, b) == c
    assert (a < b, a <= b, a > b, a >= b) == (c < 0, c <= 0, c > 0, c >= 0)
    assert (a == b) == (a.sort_key() == b.sort_key())
    if a == b:
        assert hash(a) == hash(b) and c == 0


@given(versions, versions, versions)
def test_precedence_is_a_total_preorder(a: Version, b: Version, c: Version) -> None:
    assert not a < a and a <= a
    assert not (a < b and b < a)
    assert (a <= b) or (b <= a)
    if a <= b and b <= a:
        assert compare(a, b) == 0 and a.core == b.core and a.prerelease == b.prerelease
    if a < b and b < c:
        assert a < c
    if a <= b and b <= c:
        assert a <= c
    if a.sort_key() < b.sort_key() < c.sort_key():
        assert a.sort_key() < c.sort_key() and a <= c


@pytest.mark.parametrize(
    ("start", "major", "minor", "patch"),
    [
        ("1.2.3", "2.0.0", "1.3.0", "1.2.4"),
        ("0.0.0", "1.0.0", "0.1.0", "0.0.1"),
        ("1.3.0-rc.1", "2.0.0", "1.3.0", "1.3.0"),
        ("2.0.0-rc.1", "2.0.0", "2.0.0", "2.0.0"),
        ("1.2.4-rc.1", "2.0.0", "1.3.0", "1.2.4"),
        ("1.2.3+build.5", "2.0.0", "1.3.0", "1.2.4"),
        ("1.0.0-0+b", "1.0.0", "1.0.0", "1.0.0"),
    ],
)
def test_bump_follows_npm_inc(start: str, major: str, minor: str, patch: str) -> None:
    v = Version.parse(start)
    assert [str(v.bump(k)) for k in ("major", "minor", "patch")] == [major, minor, patch]


@given(versions, st.sampled_from(["major", "minor", "patch"]))
def test_bump_is_a_higher_release(v: Version, kind: str) -> None:
    bumped = v.bump(kind)  # type: ignore[arg-type]
    assert bumped > v and bumped.is_stable and not bumped.build
    assert bump_kind(v, bumped) in (kind, None)
    check_bump(v, bumped, kind)  # type: ignore[arg-type]


def test_bad_bump_kind() -> None:
    with pytest.raises(InvalidVersionError, match="expected major, minor or patch"):
        Version.parse("1.0.0").bump("huge")  # type: ignore[arg-type]
    with pytest.raises(InvalidVersionError):
        next_version([], "huge")  # type: ignore[arg-type]
    with pytest.raises(InvalidVersionError):
        check_bump(Version(1, 0, 0), Version(2, 0, 0), "huge")  # type: ignore[arg-type]


def test_next_version() -> None:
    assert {k: str(next_version([], k)) for k in FIRST_VERSIONS} == {
        "major": "1.0.0", "minor": "0.1.0", "patch": "0.0.1"
    }  # fmt: skip
    existing = [Version.parse(s) for s in ("1.2.3", "0.9.0", "1.3.0-rc.1", "1.2.3+b")]
    assert str(next_version(existing, "minor")) == "1.3.0"
    assert str(next_version(existing, "patch")) == "1.3.0"
    assert str(next_version(existing, "major")) == "2.0.0"
    assert str(next_version(iter(existing[:2]), "patch")) == "1.2.4"


@given(st.lists(versions, max_size=5), st.sampled_from(["major", "minor", "patch"]))
def test_next_version_is_above_everything(existing: list[Version], kind: str) -> None:
    new = next_version(existing, kind)  # type: ignore[arg-type]
    assert all(new > v for v in existing) and new.is_stable


def test_latest() -> None:
    vs = [Version.parse(s) for s in ("1.0.0", "2.0.0-rc.1", "1.1.0+b", "1.1.0+a", "0.9.0")]
    assert str(latest(vs)) == "1.1.0+b"
    assert str(latest(reversed(vs))) == "1.1.0+b"
    assert str(latest(vs, include_prerelease=True)) == "2.0.0-rc.1"
    assert latest([]) is None
    assert latest([Version.parse("1.0.0-rc.1")]) is None


@pytest.mark.parametrize(
    ("changes", "kind"),
    [
        (ChangeSet(), "patch"),
        (ChangeSet(weights_changed=True, hyperparameters_changed=True), "patch"),
        (ChangeSet(data_changed=True), "minor"),
        (ChangeSet(architecture_changed=True, weights_changed=True), "minor"),
        (ChangeSet(signature_added=True), "minor"),
        (ChangeSet(signature_breaking=True, signature_added=True), "major"),
        (ChangeSet(signature_breaking=True), "major"),
    ],
)
def test_required_bump(changes: ChangeSet, kind: str) -> None:
    assert required_bump(changes) == kind


@pytest.mark.parametrize(
    ("old", "new", "required"),
    [
        ("1.2.3", "2.0.0", "major"),
        ("1.2.3", "2.0.0", "patch"),
        ("1.2.3", "1.3.0", "minor"),
        ("1.2.3", "1.2.4", "patch"),
        ("1.2.3", "1.3.0-rc.1", "minor"),
        ("1.2.3", "2.0.0-rc.1", "major"),
        ("0.3.1", "0.4.0", "major"),  # spec item 4: anything may change in 0.y.z
        ("0.3.1", "1.0.0", "major"),
        ("2.0.0-rc.1", "2.0.0-rc.2", "major"),  # pre-releases of one version may differ
        ("2.0.0-rc.1", "2.0.0", "major"),
        ("1.3.0-rc.1", "1.3.0+b", "major"),
    ],
)
def test_check_bump_accepts(old: str, new: str, required: str) -> None:
    check_bump(Version.parse(old), Version.parse(new), required)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("old", "new", "required", "hint"),
    [
        ("1.2.3", "1.3.0", "major", "use --bump major (gives 2.0.0)"),
        ("1.2.3", "1.2.4", "major", "use --bump major (gives 2.0.0)"),
        ("1.2.3", "1.2.4", "minor", "use --bump minor (gives 1.3.0)"),
        ("0.3.1", "0.3.2", "major", "use --bump minor (gives 0.4.0)"),
        ("1.3.0-rc.1", "1.3.1", "major", "use --bump major (gives 2.0.0)"),
        ("1.2.3", "1.2.3", "patch", "use --bump patch (gives 1.2.4)"),
        ("1.2.3", "1.2.3+b", "patch", "use --bump patch (gives 1.2.4)"),
        ("1.2.3", "1.2.3-rc.1", "patch", "use --bump patch (gives 1.2.4)"),
        ("2.0.0", "1.9.0", "patch", "use --bump patch (gives 2.0.1)"),
    ],
)
def test_check_bump_rejects_too_small(old: str, new: str, required: str, hint: str) -> None:
    with pytest.raises(InvalidVersionError) as info:
        check_bump(Version.parse(old), Version.parse(new), required)  # type: ignore[arg-type]
    assert info.value.hint == hint
    assert info.value.fields["version"] == new and info.value.fields["previous"] == old
    assert info.value.message.startswith(f"invalid version '{new}': ")


def test_check_bump_message_names_both_bumps() -> None:
    with pytest.raises(InvalidVersionError) as info:
        check_bump(Version(1, 2, 3), Version(1, 3, 0), "major")
    assert info.value.message == (
        "invalid version '1.3.0': the changes since 1.2.3 need a major bump,"
        " but 1.3.0 is only a minor bump"
    )
    assert info.value.fields["required"] == "major"


def test_bump_kind() -> None:
    v = Version.parse
    assert bump_kind(v("1.2.3"), v("3.0.0")) == "major"
    assert bump_kind(v("1.2.3"), v("1.4.0-rc.1")) == "minor"
    assert bump_kind(v("1.2.3"), v("1.2.9")) == "patch"
    assert bump_kind(v("1.2.3-rc.1"), v("1.2.3")) is None
    assert bump_kind(v("1.2.3"), v("0.9.9")) is None
    assert bump_kind(v("1.2.3"), v("1.1.9")) is None
    assert bump_kind(v("1.2.3"), v("1.2.2")) is None
