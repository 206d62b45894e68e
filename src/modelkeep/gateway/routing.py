"""Routing: which version answers a request, as a pure function of (deployment, request key).

Every gateway process computes the same answer from the same state, with no coordination:

- A request key (the value of the header the rollout names with ``--by``, else the request
  id) is hashed with the rollout's seed to a point in [0, 1).
- The arms (stable first, then the candidate) own consecutive intervals of [0, 1) sized by their
  weights; the point's interval is the arm. Growing the candidate's share moves only the users
  whose points lie between the old and the new boundary, and a user on the candidate stays
  there as it grows (nobody flips back and forth between steps).
- Shadow sampling hashes the same key with a different salt, so which requests are copied is
  independent of which arm answers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from modelkeep.registry.ab_split import arm_at
from modelkeep.registry.rollout import Deployment

_SCALE = float(2**64)


def unit_point(seed: str, key: str) -> float:
    """A uniform point in [0, 1) for ``key``: the same in every process for the same seed."""
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8,
                             key=seed.encode()[:64]).digest()
    return int.from_bytes(digest, "big") / _SCALE


def pick(arms: Sequence[tuple[str, float]], point: float) -> str:
    """The arm whose interval of [0, 1) holds ``point``; arms own consecutive intervals in the
    order given, each as wide as its share of the total weight."""
    live = [(name, weight) for name, weight in arms if weight > 0]
    if not live:
        raise ValueError("no arm has a positive weight")
    total = sum(weight for _, weight in live)
    edge = 0.0
    for name, weight in live:
        edge += weight / total
        if point < edge:
            return name
    return live[-1][0]  # a point within rounding of 1.0


def request_key(by: str | None, headers: Mapping[str, str], request_id: str,
                query: Mapping[str, str] | None = None) -> tuple[str, bool]:
    """The key a request is routed by, and whether it is sticky (came from the ``by`` header,
    cookie or query parameter)."""
    kind, _, name = (by or "").partition(":")
    value: str | None = None
    if kind == "header":
        value = headers.get(name.lower()) or headers.get(name)
    elif kind == "cookie":
        value = _cookie(headers.get("cookie") or "", name)
    elif kind == "query" and query is not None:
        value = query.get(name)
    return (value, True) if value else (request_id, False)


def _cookie(header: str, name: str) -> str | None:
    """The value of cookie ``name`` in a ``Cookie`` header (quotes around it dropped)."""
    for part in header.split(";"):
        key, eq, value = part.strip().partition("=")
        if eq and key == name:
            return value.strip().strip('"') or None
    return None


@dataclass(frozen=True)
class Route:
    """Where one request goes: ``version`` answers, ``shadow`` (when set) gets a copy."""

    version: str
    arm: str
    shadow: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def route(deployment: Deployment, key: str) -> Route:
    """The version that answers the request with ``key`` (see the module docstring)."""
    stable = deployment.stable
    if stable is None:
        raise ValueError(f"{deployment.model} has no stable version")
    rollout = deployment.active_rollout
    if rollout is None:
        return Route(stable, "stable")
    if rollout.phase == "ab":  # the arm owning the key's point (registry/ab_split.py)
        label = arm_at(rollout.segments, unit_point(rollout.seed, key))
        return Route(dict(rollout.arms)[label], label)
    if rollout.phase == "shadow":
        sampled = unit_point(rollout.seed + ":shadow", key) * 100 < rollout.shadow_percent
        return Route(stable, "stable", rollout.candidate if sampled else None)
    share = rollout.canary_percent / 100.0
    arm = pick([("stable", 1.0 - share), ("candidate", share)], unit_point(rollout.seed, key))
    return Route(rollout.candidate if arm == "candidate" else stable, arm)
