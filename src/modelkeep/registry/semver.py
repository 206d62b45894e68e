"""Semantic versions (SemVer 2.0.0, https://semver.org) and what MAJOR, MINOR, PATCH mean here.

User guide: docs/versioning.md. Equality and ordering, decided once:

* ``==`` and ``hash`` compare every field, build included: ``1.0.0+a != 1.0.0+b``, so two such
  versions stay two in a set.
* ``<``, ``<=``, ``>``, ``>=`` compare precedence (spec item 11), which ignores build: neither
  ``1.0.0+a < 1.0.0+b`` nor the reverse, yet ``1.0.0+a <= 1.0.0+b``. So all four are written
  out: ``functools.total_ordering`` would derive ``<=`` as ``< or ==``, wrong here.
* ``sort_key()`` orders totally and agrees with ``==``: precedence, then build metadata.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from modelkeep.errors import InvalidVersionError

Bump = Literal["major", "minor", "patch"]
"""The three kinds of version increment."""

BUMPS: tuple[Bump, ...] = ("patch", "minor", "major")
"""The bump kinds, smallest first."""

MAX_LENGTH = 256
"""Longest version string accepted (a modelkeep limit, as in npm; the spec sets none)."""

_NUMBER = re.compile(r"0|[1-9][0-9]*", re.ASCII)
_IDENTIFIER = re.compile(r"[0-9A-Za-z-]+", re.ASCII)
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_EXAMPLE = "expected MAJOR.MINOR.PATCH, e.g. 1.2.0"
_GENERAL_HINT = "a version looks like 1.2.0, 2.0.0-rc.1 or 1.0.0+build.5"

Identifier = str | int
_IdKey = tuple[int, int, str]
_Key = tuple[int, int, int, int, tuple[_IdKey, ...]]


@dataclass(frozen=True, order=False)
class Version:
    """One SemVer 2.0.0 version; numeric pre-release identifiers are held as ``int``.

    Build the usual way with ``Version.parse("1.2.0-rc.1")``; the constructor validates too.
    See the module docstring for how equality differs from precedence.
    """

    major: int
    minor: int
    patch: int
    prerelease: tuple[Identifier, ...] = ()
    build: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for field, value in (("major", self.major), ("minor", self.minor), ("patch", self.patch)):
            if type(value) is not int or value < 0:
                raise _invalid(self, f"{field} must be a non-negative integer, got {value!r}")
        for ident in self.prerelease:
            if type(ident) is int:
                if ident < 0:
                    raise _invalid(self, f"pre-release number {ident} is negative")
            elif not isinstance(ident, str) or not _IDENTIFIER.fullmatch(ident):
                raise _invalid(self, f"pre-release identifier {ident!r} is not [0-9A-Za-z-]+")
            elif _DIGITS.fullmatch(ident):
                raise _invalid(self, f"numeric pre-release identifier {ident!r} must be an int")
        for ident in self.build:
            if not isinstance(ident, str) or not _IDENTIFIER.fullmatch(ident):
                raise _invalid(self, f"build identifier {ident!r} is not [0-9A-Za-z-]+")

    @classmethod
    def parse(cls, text: str) -> Version:
        """Parse a SemVer 2.0.0 string; raise ``InvalidVersionError`` naming what is wrong."""
        if not isinstance(text, str):
            raise _bad(str(text), "expected a string")
        if len(text) > MAX_LENGTH:
            raise _bad(text, f"longer than {MAX_LENGTH} characters")
        if text[:1] in ("v", "V") and text[1:2].isdigit():
            raise _bad(text, "a version starts with a digit", f"drop the leading 'v': {text[1:]}")
        if text.strip() and text != text.strip():
            raise _bad(text, "has surrounding whitespace", f"write it as '{text.strip()}'")
        rest, plus, build_text = text.partition("+")
        core, dash, pre_text = rest.partition("-")
        parts = core.split(".")
        if len(parts) != 3:
            hint = None
            if 1 <= len(parts) <= 2 and all(_NUMBER.fullmatch(p) for p in parts):
                hint = f"write all three numbers: {'.'.join(parts + ['0'] * (3 - len(parts)))}"
            raise _bad(text, _EXAMPLE, hint)
        numbers = [_number(text, name, part) for name, part in zip(BUMPS[::-1], parts, strict=True)]
        prerelease = _identifiers(text, "pre-release", pre_text) if dash else ()
        build = _identifiers(text, "build metadata", build_text) if plus else ()
        prerelease_ids = tuple(int(i) if _DIGITS.fullmatch(i) else i for i in prerelease)
        major, minor, patch = numbers
        return cls(major, minor, patch, prerelease_ids, build)

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(str(i) for i in self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text

    def __repr__(self) -> str:
        return f"Version('{self}')"

    @property
    def core(self) -> tuple[int, int, int]:
        """``(major, minor, patch)``."""
        return (self.major, self.minor, self.patch)

    @property
    def is_prerelease(self) -> bool:
        """True for ``1.0.0-rc.1``: a pre-release may not keep its normal version's promises."""
        return bool(self.prerelease)

    @property
    def is_stable(self) -> bool:
        """True when there is no pre-release part. ``0.y.z`` counts as stable (a release),
        although the spec lets anything change under major 0; see ``check_bump``."""
        return not self.prerelease

    def precedence_key(self) -> _Key:
        """A key ordering versions by spec precedence (item 11); build metadata is ignored."""
        # A release sorts after all its pre-releases: flag 1 versus 0. Identifier keys put
        # numeric before alphanumeric, and a shorter list first when it is a prefix.
        ids = tuple(_id_key(i) for i in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, ids)

    def sort_key(self) -> tuple[int, int, int, int, tuple[_IdKey, ...], tuple[_IdKey, ...]]:
        """A total order consistent with ``==``: precedence, then build metadata (no build
        first, then identifier by identifier, numbers numerically, ties broken by text)."""
        return (*self.precedence_key(), tuple(_id_key(i) for i in self.build))

    def __lt__(self, other: object) -> bool:
        return compare(self, other) < 0 if isinstance(other, Version) else NotImplemented

    def __le__(self, other: object) -> bool:
        return compare(self, other) <= 0 if isinstance(other, Version) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return compare(self, other) > 0 if isinstance(other, Version) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return compare(self, other) >= 0 if isinstance(other, Version) else NotImplemented

    def bump(self, kind: Bump) -> Version:
        """The next release of ``kind``, with npm semver's ``inc`` rules; build is dropped.

        From a release: 1.2.3 -> 2.0.0 / 1.3.0 / 1.2.4. From a pre-release, the release it leads
        up to when that is already of ``kind``: 1.3.0-rc.1 -> minor 1.3.0, patch 1.3.0, major
        2.0.0; 2.0.0-rc.1 -> major 2.0.0; 1.2.4-rc.1 -> patch 1.2.4, minor 1.3.0.
        """
        pre = bool(self.prerelease)
        if kind == "major":
            keep = pre and self.minor == 0 and self.patch == 0
            return Version(self.major if keep else self.major + 1, 0, 0)
        if kind == "minor":
            keep = pre and self.patch == 0
            return Version(self.major, self.minor if keep else self.minor + 1, 0)
        if kind == "patch":
            return Version(self.major, self.minor, self.patch if pre else self.patch + 1)
        raise _bad_kind(kind)


def compare(a: Version, b: Version) -> int:
    """-1, 0 or 1 by precedence (build metadata ignored), like the spec's comparison."""
    ka, kb = a.precedence_key(), b.precedence_key()
    return (ka > kb) - (ka < kb)


FIRST_VERSIONS: dict[Bump, Version] = {
    "major": Version(1, 0, 0),
    "minor": Version(0, 1, 0),
    "patch": Version(0, 0, 1),
}
"""What ``next_version`` returns for a model that has no versions yet."""


def next_version(existing: Iterable[Version], kind: Bump) -> Version:
    """The ``kind`` bump of the highest existing version by precedence, pre-releases included
    (so 1.3.0-rc.1 with ``minor`` gives 1.3.0); ``FIRST_VERSIONS[kind]`` when there are none.
    The result is always greater than every existing version."""
    if kind not in FIRST_VERSIONS:
        raise _bad_kind(kind)
    highest = latest(existing, include_prerelease=True)
    return FIRST_VERSIONS[kind] if highest is None else highest.bump(kind)


def latest(versions: Iterable[Version], include_prerelease: bool = False) -> Version | None:
    """The highest version (what ``NAME@latest`` means), or None. Pre-releases are skipped
    unless asked for; among equal precedence the highest ``sort_key`` wins, so it is stable."""
    pool = [v for v in versions if include_prerelease or not v.prerelease]
    return max(pool, key=Version.sort_key, default=None)


@dataclass(frozen=True)
class ChangeSet:
    """What changed between a model version and the one before it.

    ``signature_breaking``: an input or output was removed or renamed, or changed dtype or shape.
    ``signature_added``: a new optional input or a new output.
    """

    signature_breaking: bool = False
    signature_added: bool = False
    architecture_changed: bool = False
    data_changed: bool = False
    hyperparameters_changed: bool = False
    weights_changed: bool = False
    reasons: tuple[tuple[Bump, str], ...] = ()
    """Each change in words with the bump it needs, e.g. ("major", "output 'probs' removed")."""

    def reasons_for(self, kind: Bump) -> list[str]:
        """The changes that need a ``kind`` bump, in words."""
        return [text for needs, text in self.reasons if needs == kind]


def required_bump(changes: ChangeSet) -> Bump:
    """The smallest bump these changes need: a breaking signature is major; a new input or
    output, a new architecture or new training data is minor; anything else (retrained
    weights, new hyperparameters, metadata) is patch."""
    if changes.signature_breaking:
        return "major"
    if changes.signature_added or changes.architecture_changed or changes.data_changed:
        return "minor"
    return "patch"


def bump_kind(old: Version, new: Version) -> Bump | None:
    """The largest core field that grows from ``old`` to ``new``; None when the cores are equal
    (for example 2.0.0-rc.1 -> 2.0.0) or ``new`` is not higher."""
    for kind, before, after in zip(BUMPS[::-1], old.core, new.core, strict=True):
        if before != after:
            return kind if after > before else None
    return None


def check_bump(old: Version, new: Version, required: Bump, because: Sequence[str] = ()) -> None:
    """Raise ``InvalidVersionError`` unless ``new`` follows ``old`` with at least ``required``.

    ``new`` must have higher precedence than ``old``. Two relaxations, both from the spec:
    within major 0 (item 4) a breaking change needs only a minor bump; and a pre-release
    (item 9) may be followed by anything with the same MAJOR.MINOR.PATCH, so 2.0.0-rc.1 ->
    2.0.0-rc.2 -> 2.0.0 always passes. ``because`` names the changes that need the bump
    (``ChangeSet.reasons_for``), so a refusal says what to look at.
    """
    if required not in BUMPS:
        raise _bad_kind(required)
    if new <= old:
        raise _too_small(old, new, required, f"must be higher than the previous version {old}")
    if old.prerelease and new.core == old.core:
        return
    need: Bump = "minor" if required == "major" and old.major == 0 == new.major else required
    done = bump_kind(old, new)  # not None: new > old and their cores differ
    if done is None or BUMPS.index(done) < BUMPS.index(need):
        why = f" ({'; '.join(because)})" if because else ""
        reason = (f"the changes since {old} need a {need} bump{why}, but {new} is only a "
                  f"{done} bump")
        raise _too_small(old, new, need, reason)


def _identifiers(text: str, what: str, part: str) -> tuple[str, ...]:
    idents = tuple(part.split("."))
    for ident in idents:
        if not ident:
            raise _bad(text, f"{what} has an empty identifier")
        if not _IDENTIFIER.fullmatch(ident):
            raise _bad(text, f"{what} identifier '{ident}' may only use [0-9A-Za-z-]")
        if what == "pre-release" and _DIGITS.fullmatch(ident) and not _NUMBER.fullmatch(ident):
            raise _bad(
                text,
                f"numeric pre-release identifier '{ident}' has a leading zero",
                f"write {int(ident)} instead of {ident}",
            )
    return idents


def _number(text: str, name: str, part: str) -> int:
    if _NUMBER.fullmatch(part):
        return int(part)
    if _DIGITS.fullmatch(part):
        raise _bad(text, f"{name} '{part}' has a leading zero", f"write {int(part)}")
    raise _bad(text, f"{name} '{part}' is not a number; {_EXAMPLE}")


def _id_key(ident: Identifier) -> _IdKey:
    if isinstance(ident, int):
        return (0, ident, "")
    if _DIGITS.fullmatch(ident):  # build identifiers may be numeric with leading zeros
        return (0, int(ident), ident)
    return (1, 0, ident)


def _bad(text: str, reason: str, hint: str | None = None) -> InvalidVersionError:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return InvalidVersionError(
        f"invalid version {shown!r}: {reason}", hint=hint or _GENERAL_HINT, version=text
    )


def _invalid(v: Version, reason: str) -> InvalidVersionError:
    return _bad(repr((v.major, v.minor, v.patch, v.prerelease, v.build)), reason)


def _too_small(old: Version, new: Version, need: Bump, reason: str) -> InvalidVersionError:
    return InvalidVersionError(
        f"invalid version '{new}': {reason}",
        hint=f"use --bump {need} (gives {old.bump(need)})",
        version=str(new),
        previous=str(old),
        required=need,
    )


def _bad_kind(kind: object) -> InvalidVersionError:
    return InvalidVersionError(
        f"invalid bump {kind!r}: expected major, minor or patch",
        hint="use --bump major, --bump minor or --bump patch",
        bump=str(kind),
    )
