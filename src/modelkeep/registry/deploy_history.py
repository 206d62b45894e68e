"""Replaying what served when: the deployment events of a model as periods of serving.

Each ``deployment_events`` row holds the whole state reached, so the replay is a walk over them
comparing each state with the one before: which versions' shares of traffic changed, whose
configuration changed (``registry/deploy_config.py``), and until when the state held. ``at``
answers what served at a moment: the last change at or before it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelkeep.clock import parse_timestamp
from modelkeep.registry.deploy_config import DeployConfig
from modelkeep.registry.deployments import DeploymentEvent
from modelkeep.registry.rollout import Deployment


@dataclass(frozen=True)
class ServingPeriod:
    """What served a model from ``at`` (a change of traffic or configuration) until ``until``
    (the next change; empty: still now): the split, the versions the change involved, each
    change in words, and the configuration of every version taking traffic."""

    revision: int
    at: str
    until: str
    action: str
    author: str
    reason: str
    stable: str | None
    candidate: str | None
    phase: str | None
    split: dict[str, float]
    involved: list[str]
    changes: list[str]
    configs: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"revision": self.revision, "at": self.at, "until": self.until or None,
                "action": self.action, "author": self.author, "reason": self.reason,
                "stable": self.stable, "candidate": self.candidate, "phase": self.phase,
                "split": self.split, "involved": self.involved, "changes": self.changes,
                "configs": self.configs}


def _percent(share: float) -> str:
    return f"{share * 100:g}%"


def traffic_changes(before: Mapping[str, float], after: Mapping[str, float]) -> list[str]:
    """``1.0.0 100% -> 95%`` for every version whose share of traffic changed."""
    out = []
    for version in dict.fromkeys([*before, *after]):
        old, new = before.get(version, 0.0), after.get(version, 0.0)
        if abs(old - new) > 1e-12:
            out.append(f"{version} traffic {_percent(old)} -> {_percent(new)}")
    return out


def _flat(config: DeployConfig) -> dict[str, str]:
    data = config.to_dict()
    flat = {f"loader.{k}": repr(v) for k, v in data["loader"].items()}
    flat.update({f"environment.{k}": v for k, v in data["environment"].items()})
    flat.update({f"routing.{k}": repr(v) for k, v in data["routing"].items()})
    flat.update({f"gates.{k}": repr(v) for k, v in data["gates"].items()})
    return flat


def config_changes(version: str, before: DeployConfig | None, after: DeployConfig) -> list[str]:
    """``1.0.0 loader.timeout 5.0 -> 2.0`` for every setting of ``version`` that changed."""
    old, new = _flat(before) if before is not None else {}, _flat(after)
    out = []
    for key in sorted({*old, *new}):
        if old.get(key) != new.get(key):
            out.append(f"{version} {key} {old.get(key, '-')} -> {new.get(key, '-')}")
    return out


def _period(event: DeploymentEvent, before: Deployment | None, until: str) -> ServingPeriod:
    state = event.state
    old_split = before.split() if before is not None else {}
    changes = traffic_changes(old_split, state.split())
    involved = [c.split(" ", 1)[0] for c in changes]
    live = list(state.split())
    rollout = state.rollout
    if rollout is not None and rollout.active and rollout.candidate not in live:
        live.append(rollout.candidate)  # a shadow candidate takes copies, not traffic
    for version in live:
        old = before.configs.get(version) if before is not None else None
        if version in state.configs and (before is None or old != state.configs[version]):
            found = config_changes(version, old, state.configs[version])
            changes += found
            if found and version not in involved:
                involved.append(version)
    if not involved:  # a pause, a resume: the versions of the rollout it held
        involved = live
    return ServingPeriod(
        revision=event.revision, at=event.at, until=until, action=event.action,
        author=event.author, reason=event.reason, stable=state.stable,
        candidate=rollout.candidate if rollout is not None else None,
        phase=rollout.phase if rollout is not None else None, split=state.split(),
        involved=involved, changes=changes,
        configs={v: state.config(v).to_dict() for v in live})


def replay(events: list[DeploymentEvent], at: str | None = None) -> list[ServingPeriod]:
    """Every period of serving, oldest first; with ``at`` (a time as ``--at`` takes it), only
    the one in force then (``[]`` before the first deployment)."""
    periods = []
    for index, event in enumerate(events):
        before = events[index - 1].state if index else None
        until = events[index + 1].at if index + 1 < len(events) else ""
        periods.append(_period(event, before, until))
    if at is None:
        return periods
    moment = parse_timestamp(at)
    found = [p for p in periods if p.at <= moment]
    return found[-1:]
