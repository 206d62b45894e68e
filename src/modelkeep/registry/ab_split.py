"""A/B/n arms and splits: who owns which part of the unit interval, and how a split changes.

Pure. A test's arms are labels (``A``, ``B``, ...) each naming a version; ``A`` is the control.
The unit interval [0, 1) is cut into ``UNITS`` parts per million, so shares add up exactly,
and each arm owns a set of segments of it: a user whose seeded hash falls in an arm's segments
sees that arm (``gateway/routing.py``). A new split is reached by taking the excess of each
shrinking arm from the ends of its own segments and handing those pieces to the growing arms:
everyone else keeps their arm, so the share of users who change arm is the total variation
distance between the two splits, the least any reassignment can move.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from modelkeep.errors import InvalidInputError

UNITS = 1_000_000  # parts of the unit interval: a split is exact to 0.0001 percent
Segment = tuple[int, int, str]  # [start, end) in UNITS, arm label
_LABEL = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")  # a version or an alias
_PERCENT = re.compile(r"\d{1,3}(\.\d{1,4})?")
MAX_ARMS = 26
RESERVED = frozenset({"stable", "candidate", "pinned"})  # the gateway's other route names


def parse_arms(text: str) -> tuple[tuple[str, str], ...]:
    """``A=1.0.0,B=1.1.0`` as ((label, version), ...): two or more arms, labels and versions
    each used once; the first arm is the control."""
    hint = "e.g. --ab A=1.0.0,B=1.1.0"
    arms = []
    for part in text.split(","):
        label, eq, version = part.strip().partition("=")
        if not eq or not _LABEL.fullmatch(label) or not _VERSION.fullmatch(version.strip()):
            raise InvalidInputError(f"--ab arm {part.strip()!r} is not LABEL=VERSION", hint=hint)
        arms.append((label, version.strip()))
    labels, versions = [a for a, _ in arms], [v for _, v in arms]
    taken = RESERVED.intersection(labels)
    if taken:
        raise InvalidInputError(f"arm label {sorted(taken)[0]!r} is reserved: the gateway uses it "
                                "for routes that are not A/B arms", hint=hint)
    if not 2 <= len(arms) <= MAX_ARMS:
        raise InvalidInputError(f"an A/B test has 2 to {MAX_ARMS} arms, not {len(arms)}", hint=hint)
    if len(set(labels)) != len(labels) or len(set(versions)) != len(versions):
        raise InvalidInputError("each arm needs its own label and its own version "
                                f"(got {text!r})", hint=hint)
    return tuple(arms)


def parse_split(text: str, labels: Sequence[str]) -> dict[str, int]:
    """``50/50`` (percents in the arms' order, adding up to 100) as label -> UNITS."""
    parts = text.split("/")
    hint = "/".join(["50", "50"] if len(labels) == 2 else [f"{100 / len(labels):.4g}"] * len(labels))
    if len(parts) != len(labels):
        raise InvalidInputError(f"split {text!r} has {len(parts)} parts for {len(labels)} arms "
                                f"({', '.join(labels)})", hint=f"e.g. --split {hint}")
    if not all(_PERCENT.fullmatch(p.strip()) for p in parts):
        raise InvalidInputError(f"split {text!r} is not percents separated by '/'",
                                hint=f"e.g. --split {hint}")
    units = [round(float(p) * UNITS / 100) for p in parts]
    if sum(units) != UNITS:
        raise InvalidInputError(f"split {text!r} adds up to {sum(units) * 100 / UNITS:g}, not 100",
                                hint=f"e.g. --split {hint}")
    if sum(u > 0 for u in units) < 1:
        raise InvalidInputError(f"split {text!r} gives no arm any traffic", hint=f"e.g. --split {hint}")
    return dict(zip(labels, units, strict=True))


def equal(labels: Sequence[str]) -> dict[str, int]:
    """An equal split (the first arms get the odd units left over)."""
    base, rest = divmod(UNITS, len(labels))
    return {label: base + (i < rest) for i, label in enumerate(labels)}


def initial_segments(split: dict[str, int]) -> tuple[Segment, ...]:
    """Consecutive segments in the arms' order, each as long as its share."""
    segments, edge = [], 0
    for label, units in split.items():
        if units:
            segments.append((edge, edge + units, label))
        edge += units
    return tuple(segments)


def shares(segments: Sequence[Segment]) -> dict[str, int]:
    """label -> UNITS it owns."""
    owned: dict[str, int] = {}
    for start, end, label in segments:
        owned[label] = owned.get(label, 0) + end - start
    return owned


def resplit(segments: Sequence[Segment], split: dict[str, int]) -> tuple[Segment, ...]:
    """The segments for ``split`` that move the fewest users from ``segments``: shrinking arms
    give up the ends of their own segments, growing arms take exactly those pieces."""
    owned = shares(segments)
    kept: list[Segment] = []
    freed: list[tuple[int, int]] = []
    excess = {label: owned.get(label, 0) - split.get(label, 0) for label in owned}
    for start, end, label in sorted(segments, key=lambda s: -s[0]):  # give up from the end
        give = min(max(excess[label], 0), end - start)
        excess[label] -= give
        if give:
            freed.append((end - give, end))
        if end - give > start:
            kept.append((start, end - give, label))
    growing = [(label, units - owned.get(label, 0)) for label, units in split.items()
               if units > owned.get(label, 0)]
    freed.sort()
    for label, need in growing:
        while need:
            start, end = freed.pop(0)
            take = min(need, end - start)
            kept.append((start, start + take, label))
            if start + take < end:
                freed.insert(0, (start + take, end))
            need -= take
    return _merged(sorted(kept))


def _merged(segments: list[Segment]) -> tuple[Segment, ...]:
    out: list[Segment] = []
    for start, end, label in segments:
        if out and out[-1][2] == label and out[-1][1] == start:
            out[-1] = (out[-1][0], end, label)
        else:
            out.append((start, end, label))
    return tuple(out)


def arm_at(segments: Sequence[Segment], point: float) -> str:
    """The arm owning ``point`` in [0, 1)."""
    return _owner(segments, min(int(point * UNITS), UNITS - 1))


def _owner(segments: Sequence[Segment], unit: int) -> str:
    index = bisect.bisect_right([s[0] for s in segments], unit) - 1
    return segments[max(index, 0)][2]


def moved_share(before: Sequence[Segment], after: Sequence[Segment]) -> float:
    """The share of the unit interval whose arm differs between two segmentations."""
    cuts = sorted({0, UNITS, *(s[0] for s in before), *(s[1] for s in before),
                   *(s[0] for s in after), *(s[1] for s in after)})
    moved = sum(end - start for start, end in zip(cuts, cuts[1:], strict=False)
                if _owner(before, start) != _owner(after, start))
    return moved / UNITS
