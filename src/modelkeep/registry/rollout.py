"""The rollout state machine: which version serves a model, and how traffic moves to a new one.

Pure: no database, no clock, no randomness (the caller passes the seed). A ``Deployment`` is a
model's whole serving state: its stable version, the stable versions before it (for rollback),
and the current or last rollout. Each transition takes a deployment and returns the next one,
or raises ``RolloutStateError`` when the move is not allowed from where it stands::

    deploy (no rollout)       stable := VERSION at once
    start                     -> shadow (with --shadow), blue-green, or canary step 0
    promote                   shadow -> canary step 0 -> ... -> last step -> promoted
                              blue-green -> promoted (the candidate, loaded beside the
                              stable one with no traffic, takes all of it at once)
    promote --full            shadow | canary -> promoted           (stable := candidate)
    pause / resume            shadow | canary <-> paused (the split stays as it was)
    abort                     shadow | canary -> aborted             (all traffic to stable)
    rollback                  a running rollout: abort; otherwise stable := the one before

``registry/deployments.py`` stores every state reached, append-only, with the action that led
to it; the gateway routes by the latest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from modelkeep.errors import InvalidInputError, RolloutStateError
from modelkeep.registry.ab_split import UNITS, shares
from modelkeep.registry.deploy_config import DeployConfig
from modelkeep.registry.gates import GatePolicy

DEFAULT_STEPS: tuple[int, ...] = (5, 25, 50, 100)
DEFAULT_WINDOW = 24 * 3600.0  # seconds each canary step is watched before it may advance
# stable versions remembered for rollback (the gateway keeps the first three loaded)
STABLE_MEMORY = 10
ACTIVE = ("shadow", "canary", "blue-green", "ab")
KEY_KINDS = ("header", "cookie", "query")  # where a request's sticky key may come from

# the configuration of a version deployed without one (a gateway asks on every request)
_DEFAULT_CONFIG = DeployConfig()


@dataclass(frozen=True)
class Rollout:
    """A move of traffic from the stable version to ``candidate``.

    ``phase`` is shadow, canary, blue-green, promoted or aborted; ``step`` indexes ``steps``
    (percent of traffic on the candidate) during the canary phase; ``by`` names the request key
    that makes assignment sticky (``header:X-User-Id``; None: each request drawn afresh);
    ``seed`` makes the hash of that key the same in every gateway process. ``shadow_window``:
    seconds the shadow phase is watched before the gates may move it on to the canary steps by
    themselves (0: a shadow test, moved by hand only); ``tolerance``: numbers in the shadow's
    outputs agree with the stable version's within it (relative, or absolute below 1).
    """

    candidate: str
    phase: str
    steps: tuple[int, ...] = DEFAULT_STEPS
    step: int = 0
    paused: bool = False
    shadow_percent: float = 100.0
    by: str | None = None
    seed: str = ""
    window: float = DEFAULT_WINDOW
    gates: GatePolicy = GatePolicy()
    shadow_window: float = 0.0
    tolerance: float = 0.0

    # an A/B/n test (phase "ab", registry/ab_rollout.py): (label, version) per arm, the control
    # first, and the [start, end) segments of the unit interval (in ab_split.UNITS) each owns
    arms: tuple[tuple[str, str], ...] = ()
    segments: tuple[tuple[int, int, str], ...] = ()

    @property
    def active(self) -> bool:
        """Whether the rollout still moves traffic (shadow or canary, paused or not)."""
        return self.phase in ACTIVE

    @property
    def canary_percent(self) -> float:
        """Percent of live traffic the candidate answers now."""
        if self.phase == "canary":
            return float(self.steps[self.step])
        return 100.0 if self.phase == "promoted" else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["steps"] = list(self.steps)
        data["gates"] = self.gates.to_dict()
        data["arms"] = [list(a) for a in self.arms]
        data["segments"] = [list(s) for s in self.segments]
        data["active"] = self.active
        data["canary_percent"] = self.canary_percent
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rollout:
        """The inverse of ``to_dict`` (derived fields ignored)."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["steps"] = tuple(int(s) for s in known.get("steps", DEFAULT_STEPS))
        known["gates"] = GatePolicy(**(known.get("gates") or {}))
        known["arms"] = tuple((str(a), str(v)) for a, v in known.get("arms") or ())
        known["segments"] = tuple((int(s), int(e), str(a)) for s, e, a in known.get("segments") or ())
        return cls(**known)


@dataclass(frozen=True)
class Deployment:
    """A model's serving state: ``stable`` answers what no rollout takes; ``previous`` are the
    stable versions before it, most recent first (rollback goes to ``previous[0]``)."""

    model: str
    stable: str | None = None
    previous: tuple[str, ...] = ()
    rollout: Rollout | None = None
    revision: int = 0  # id of the event that produced this state (0: never deployed)
    changed_at: str = ""
    step_started: str = ""  # when the rollout's current phase or step began (gates judge since)
    # version -> the configuration deployed with it (registry/deploy_config.py), for every
    # version this state remembers: a rollback restores the one that went with its version
    configs: Mapping[str, DeployConfig] = field(default_factory=dict)

    def config(self, version: str) -> DeployConfig:
        """The configuration ``version`` was deployed with (the defaults when none)."""
        return self.configs.get(version) or _DEFAULT_CONFIG  # frozen: one shared instance

    @property
    def active_rollout(self) -> Rollout | None:
        """The rollout moving traffic now, or None."""
        return self.rollout if self.rollout is not None and self.rollout.active else None

    def split(self) -> dict[str, float]:
        """version -> share of live traffic (sums to 1; empty when nothing is deployed)."""
        if self.stable is None:
            return {}
        rollout = self.active_rollout
        if rollout is not None and rollout.phase == "ab":
            versions = dict(rollout.arms)
            return {versions[a]: units / UNITS for a, units in shares(rollout.segments).items()}
        if rollout is None or rollout.phase != "canary":
            return {self.stable: 1.0}
        share = rollout.canary_percent / 100.0
        return {self.stable: 1.0 - share, rollout.candidate: share}

    def serving(self, keep_stable: int = 3) -> list[str]:
        """The versions a gateway keeps loaded: the running candidate, the stable version and
        the stable versions before it (``keep_stable`` in all), so a rollback never loads."""
        found = [v for v in (self.stable, *self.previous) if v][:keep_stable]
        rollout = self.active_rollout
        if rollout is not None and rollout.candidate not in found:
            found.insert(0, rollout.candidate)
        for _, version in reversed(rollout.arms if rollout is not None else ()):
            if version not in found:
                found.insert(0, version)
        return found

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "stable": self.stable, "previous": list(self.previous),
                "rollout": self.rollout.to_dict() if self.rollout else None,
                "split": self.split(), "revision": self.revision, "changed_at": self.changed_at,
                "step_started": self.step_started,
                "configs": {v: c.to_dict() for v, c in sorted(self.configs.items())}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deployment:
        """The inverse of ``to_dict`` (derived fields ignored)."""
        rollout = data.get("rollout")
        return cls(model=data["model"], stable=data.get("stable"),
                   previous=tuple(data.get("previous") or ()),
                   rollout=Rollout.from_dict(rollout) if rollout else None,
                   revision=int(data.get("revision") or 0), changed_at=data.get("changed_at", ""),
                   step_started=data.get("step_started", ""),
                   configs={v: DeployConfig.from_dict(c)
                            for v, c in (data.get("configs") or {}).items()})


def check_steps(steps: tuple[int, ...]) -> tuple[int, ...]:
    """Canary steps: rising percents in 1..100 ending at 100."""
    if not steps or any(not 0 < s <= 100 for s in steps) or list(steps) != sorted(set(steps)) \
            or steps[-1] != 100:
        raise InvalidInputError(
            f"canary steps {','.join(map(str, steps))} are not rising percents ending at 100",
            hint="e.g. --steps 5,25,50,100")
    return steps


def check_key(by: str | None) -> str | None:
    """The request key that makes assignment sticky: ``header:NAME``, ``cookie:NAME`` or
    ``query:NAME`` (None: no key)."""
    if by is None:
        return None
    kind, _, name = by.partition(":")
    if kind not in KEY_KINDS or not name or not all(c.isalnum() or c in "-_" for c in name):
        raise InvalidInputError(f"--by {by!r} is not header:NAME, cookie:NAME or query:NAME",
                                hint="e.g. --by header:X-User-Id")
    return f"{kind}:{name}"


def _refuse(d: Deployment, action: str, why: str, hint: str | None = None) -> RolloutStateError:
    return RolloutStateError(f"cannot {action} {d.model}: {why}",
                             hint=hint or f"modelkeep deploy status {d.model}",
                             name=d.model, action=action)


def running_text(rollout: Rollout) -> str:
    """``a rollout to 1.1.0`` or ``an A/B test of A=1.0.0, B=1.1.0``, for messages."""
    if rollout.arms:
        return "an A/B test of " + ", ".join(f"{a}={v}" for a, v in rollout.arms)
    return f"a rollout to {rollout.candidate}"


def finish(d: Deployment) -> str:
    """The commands that end ``d``'s running rollout."""
    ab = d.active_rollout is not None and d.active_rollout.phase == "ab"
    return f"modelkeep deploy {'end --winner LABEL|abort' if ab else 'promote|abort'} {d.model}"


def _running(d: Deployment, action: str) -> Rollout:
    rollout = d.active_rollout
    if rollout is None:
        raise _refuse(d, action, "no rollout is running")
    return rollout


def _new_stable(d: Deployment, version: str) -> tuple[str | None, tuple[str, ...]]:
    previous = tuple(v for v in (d.stable, *d.previous) if v and v != version)
    return version, previous[:STABLE_MEMORY]


def deploy(d: Deployment, version: str) -> Deployment:
    """Serve ``version`` with all traffic at once (the first deployment, or a direct switch)."""
    if d.active_rollout is not None:
        raise _refuse(d, "deploy", f"{running_text(d.active_rollout)} is running",
                      hint=f"finish it first: {finish(d)}")
    if version == d.stable:
        raise _refuse(d, "deploy", f"{version} is already the stable version")
    stable, previous = _new_stable(d, version)
    return replace(d, stable=stable, previous=previous, rollout=None)


def start(d: Deployment, candidate: str, *, seed: str, steps: tuple[int, ...] = DEFAULT_STEPS,
          shadow: bool = False, shadow_percent: float = 100.0, by: str | None = None,
          window: float = DEFAULT_WINDOW, gates: GatePolicy | None = None,
          blue_green: bool = False, shadow_window: float = 0.0,
          tolerance: float = 0.0) -> Deployment:
    """Begin moving traffic to ``candidate``: a shadow phase first when ``shadow``; with
    ``blue_green`` the candidate is loaded beside the stable version and switched to at once."""
    if d.stable is None:
        raise _refuse(d, "start a rollout of", "no stable version is deployed to compare with",
                      hint=f"deploy one first: modelkeep deploy {d.model}@VERSION")
    if d.active_rollout is not None:
        raise _refuse(d, "start a rollout of", f"{running_text(d.active_rollout)} is already "
                      "running", hint=finish(d))
    if candidate == d.stable:
        raise _refuse(d, "start a rollout of", f"{candidate} is already the stable version")
    if not 0 < shadow_percent <= 100:
        raise InvalidInputError(f"shadow percent {shadow_percent} is not in (0, 100]",
                                hint="e.g. --shadow-percent 10")
    for what, seconds in (("window", window), ("shadow window", shadow_window)):
        if not 0 <= seconds < math.inf:
            raise InvalidInputError(f"{what} {seconds} is not a number of seconds",
                                    hint="e.g. --window 3600")
    if not 0 <= tolerance < math.inf:
        raise InvalidInputError(f"tolerance {tolerance} is not a number at least 0",
                                hint="e.g. --tolerance 1e-6")
    if blue_green and shadow:
        raise InvalidInputError("a blue-green deploy switches at once: it has no shadow phase",
                                hint="use --canary --shadow-first for a shadow phase first")
    phase = "blue-green" if blue_green else "shadow" if shadow else "canary"
    rollout = Rollout(candidate=candidate, phase=phase, steps=check_steps(steps),
                      shadow_percent=shadow_percent, by=by, seed=seed, window=window,
                      gates=gates or GatePolicy(), shadow_window=shadow_window,
                      tolerance=tolerance)
    return replace(d, rollout=rollout)


def promote(d: Deployment, *, full: bool = False) -> Deployment:
    """The next step (shadow -> first canary step -> ... -> promoted), or straight to promoted."""
    rollout = _running(d, "promote")
    if rollout.phase == "ab":
        raise _refuse(d, "promote", "an A/B test has no steps: name the arm that won",
                      hint=f"modelkeep deploy end {d.model} --winner LABEL")
    if rollout.paused:
        raise _refuse(d, "promote", "the rollout is paused", hint=f"modelkeep deploy resume {d.model}")
    if rollout.phase == "blue-green":
        full = True
    if not full and rollout.phase == "shadow":
        return replace(d, rollout=replace(rollout, phase="canary", step=0))
    if not full and rollout.step + 1 < len(rollout.steps) - 1:
        return replace(d, rollout=replace(rollout, step=rollout.step + 1))
    stable, previous = _new_stable(d, rollout.candidate)
    return replace(d, stable=stable, previous=previous,
                   rollout=replace(rollout, phase="promoted", step=len(rollout.steps) - 1))


def pause(d: Deployment) -> Deployment:
    """Hold the split where it is."""
    rollout = _running(d, "pause")
    if rollout.paused:
        raise _refuse(d, "pause", "the rollout is already paused")
    return replace(d, rollout=replace(rollout, paused=True))


def resume(d: Deployment) -> Deployment:
    """Let a paused rollout move again."""
    rollout = _running(d, "resume")
    if not rollout.paused:
        raise _refuse(d, "resume", "the rollout is not paused")
    return replace(d, rollout=replace(rollout, paused=False))


def abort(d: Deployment) -> Deployment:
    """Stop the rollout: all traffic back to the stable version."""
    rollout = _running(d, "abort")
    return replace(d, rollout=replace(rollout, phase="aborted", paused=False))


def rollback(d: Deployment) -> Deployment:
    """All traffic to the last stable version: a running rollout is aborted; otherwise the
    stable version before the current one serves again (never re-running canary steps)."""
    if d.active_rollout is not None:
        return abort(d)
    if d.stable is None:
        raise _refuse(d, "roll back", "nothing is deployed",
                      hint=f"modelkeep deploy {d.model}@VERSION")
    if not d.previous:
        raise _refuse(d, "roll back", f"{d.stable} is the only stable version it has had")
    return replace(d, stable=d.previous[0], previous=d.previous[1:], rollout=None)
