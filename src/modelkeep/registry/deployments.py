"""Deployments in the keep's database: each change of a model's serving state is one appended
``deployment_events`` row holding the whole state reached (migration 0004).

The latest row per model is the state gateways route by; ``revision`` (the highest row id) lets
a gateway poll cheaply and re-read only when something changed. A change reads the latest
state, applies one pure transition of ``registry/rollout.py`` and appends the result inside one
write transaction holding a named lock, so two commands at once apply one after the other.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from modelkeep.clock import now_iso
from modelkeep.db.database import Database
from modelkeep.errors import InvalidInputError, RolloutStateError
from modelkeep.registry import rollout
from modelkeep.registry.deploy_config import DeployConfig
from modelkeep.registry.deploy_guard import deploy_reason
from modelkeep.registry.gates import GatePolicy
from modelkeep.registry.rollout import Deployment
from modelkeep.registry.versions import VersionInfo, model_id_of

Transition = Callable[[Deployment], Deployment]
# the commands that move an existing deployment (``deploy`` itself starts one)
ACTIONS: dict[str, Transition] = {
    "promote": rollout.promote,
    "promote-full": lambda d: rollout.promote(d, full=True),
    "pause": rollout.pause,
    "resume": rollout.resume,
    "abort": rollout.abort,
    "rollback": rollout.rollback,
}


@dataclass(frozen=True)
class DeploymentEvent:
    """One change of a model's serving state: what was done, by whom, when, and the state after."""

    revision: int
    action: str
    at: str
    author: str
    reason: str
    state: Deployment

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state.to_dict()
        return data


def _state_of(row: Any, model: str) -> Deployment:
    data = json.loads(row["state_json"])
    return replace(Deployment.from_dict({**data, "model": model}), revision=int(row["id"]),
                   changed_at=row["at"])


def current(db: Database, name: str) -> Deployment:
    """The serving state of model ``name`` now (an empty deployment when never deployed)."""
    model_id = model_id_of(db, name)
    row = db.query_one("SELECT id, state_json, at FROM deployment_events WHERE model_id = :m "
                       "ORDER BY id DESC LIMIT 1", {"m": model_id})
    return Deployment(model=name) if row is None else _state_of(row, name)


def all_current(db: Database) -> list[Deployment]:
    """The serving state of every deployed model, by name."""
    rows = db.query(
        "SELECT e.id, e.state_json, e.at, m.name FROM deployment_events e "
        "JOIN models m ON m.id = e.model_id WHERE e.id IN "
        "(SELECT MAX(id) FROM deployment_events GROUP BY model_id) ORDER BY m.name")
    return [_state_of(r, r["name"]) for r in rows]


def revision(db: Database) -> int:
    """The id of the newest event of any model (0: none): changes whenever any state does."""
    return int(db.scalar("SELECT COALESCE(MAX(id), 0) FROM deployment_events") or 0)


def history(db: Database, name: str) -> list[DeploymentEvent]:
    """Every change of model ``name``'s serving state, oldest first."""
    model_id = model_id_of(db, name)
    rows = db.query("SELECT id, action, state_json, at, author, reason FROM deployment_events "
                    "WHERE model_id = :m ORDER BY id", {"m": model_id})
    return [DeploymentEvent(int(r["id"]), r["action"], r["at"], r["author"], r["reason"],
                            _state_of(r, name)) for r in rows]


def _step_of(d: Deployment) -> tuple[str, str, int, object] | None:
    rollout = d.active_rollout  # an A/B test's "step" is its split
    return None if rollout is None else (rollout.candidate, rollout.phase, rollout.step,
                                         rollout.segments)


def apply(db: Database, name: str, action: str, transition: Transition, *, author: str,
          reason: str = "", expect_revision: int | None = None) -> DeploymentEvent:
    """Apply ``transition`` to ``name``'s current state and append the result as ``action``
    (a transition that raises appends nothing). ``expect_revision``: only if the state is still
    that one (``RolloutStateError`` otherwise), so that several gateways judging the same step
    move it once."""
    with db.write():
        db.lock_named(f"deployment:{name}")
        before = current(db, name)
        if expect_revision is not None and before.revision != expect_revision:
            raise RolloutStateError(f"cannot {action} {name}: its deployment changed meanwhile",
                                    name=name, action=action)
        after = _remembered_configs(transition(before))
        at = now_iso()
        if _step_of(after) != _step_of(before):
            after = replace(after, step_started=at)
        state = after.to_dict()
        for derived in ("revision", "changed_at", "split", "model"):  # known from the row
            state.pop(derived, None)
        db.execute(
            "INSERT INTO deployment_events (model_id, action, state_json, at, author, reason) "
            "VALUES (:m, :action, :state, :at, :author, :reason)",
            {"m": model_id_of(db, name), "action": action, "state": json.dumps(state),
             "at": at, "author": author, "reason": reason})
        event_id = int(db.scalar("SELECT MAX(id) FROM deployment_events WHERE model_id = :m",
                                 {"m": model_id_of(db, name)}))
    return DeploymentEvent(event_id, action, at, author, reason,
                           replace(after, revision=event_id, changed_at=at))


def _remembered_configs(d: Deployment) -> Deployment:
    """Keep the configurations of the versions the state still names (stable, earlier stable,
    candidate); the others stay in the older events that carried them."""
    named = {v for v in (d.stable, *d.previous) if v}
    if d.rollout is not None:
        named.add(d.rollout.candidate)
        named.update(version for _, version in d.rollout.arms)  # an A/B test's arms
    return replace(d, configs={v: c for v, c in d.configs.items() if v in named})


def _configured(version: str, config: DeployConfig | None, transition: Transition) -> Transition:
    """``transition``, then ``version``'s configuration recorded in the state it reaches."""
    if config is None:
        return transition

    def apply_config(d: Deployment) -> Deployment:
        after = transition(d)
        return replace(after, configs={**after.configs, version: config})
    return apply_config


def _configure(version: str, config: DeployConfig) -> Transition:
    """A new configuration for the stable version, its traffic unchanged."""
    def configure(d: Deployment) -> Deployment:
        if d.active_rollout is not None or d.stable != version:
            return rollout.deploy(d, version)  # raises: why it cannot be done
        if d.config(version) == config:
            raise RolloutStateError(f"cannot deploy {d.model}: {version} is already the stable "
                                    "version, with this configuration", name=d.model,
                                    action="configure")
        return replace(d, configs={**d.configs, version: config})
    return configure


def deploy_version(db: Database, info: VersionInfo, *, author: str, canary: bool = False,
                   shadow: bool = False, shadow_percent: float = 100.0,
                   steps: tuple[int, ...] = rollout.DEFAULT_STEPS, by: str | None = None,
                   window: float = rollout.DEFAULT_WINDOW, gates: GatePolicy | None = None,
                   reason: str = "", config: DeployConfig | None = None,
                   blue_green: bool = False, shadow_window: float = 0.0, tolerance: float = 0.0,
                   force: bool = False) -> DeploymentEvent:
    """Serve version ``info``: at once, or (``canary``/``shadow``/``blue_green``) through a
    rollout from the stable version, with a fresh seed for the sticky hash of the request key
    ``by``. ``config`` is recorded with the version in the state reached; deploying the stable
    version again with another configuration is the ``configure`` action (traffic unchanged).
    Any other deploy of a version whose latest validation did not pass is refused unless
    ``force``."""
    shaped = (by or steps != rollout.DEFAULT_STEPS or shadow_percent != 100.0
              or window != rollout.DEFAULT_WINDOW or gates not in (None, GatePolicy())
              or shadow_window or tolerance)
    if not (canary or shadow) and shaped:
        raise InvalidInputError("--steps, --by, --shadow-percent, --window, --shadow-window, "
                                "--tolerance and the gates shape a rollout: add --canary or "
                                "--shadow", hint=f"modelkeep deploy {info.ref} --canary")
    if blue_green and canary:
        raise InvalidInputError("--blue-green switches all traffic at once; --canary moves it "
                                "in steps: choose one", hint=f"modelkeep deploy {info.ref} --blue-green")
    plain = not (canary or shadow or blue_green)
    if plain and config is not None and current(db, info.name).stable == info.version:
        return apply(db, info.name, "configure", _configure(info.version, config),
                     author=author, reason=reason)
    reason = deploy_reason(db, info, force=force, reason=reason)
    if plain:
        return apply(db, info.name, "deploy",
                     _configured(info.version, config, lambda d: rollout.deploy(d, info.version)),
                     author=author, reason=reason)
    seed = secrets.token_hex(8)
    key = rollout.check_key(by)
    if config is not None:  # what the rollout runs with is what the configuration records
        config = replace(config, gates=(gates or GatePolicy()).to_dict(), routing={
            "steps": list(steps), "by": key, "shadow_percent": shadow_percent, "window": window})
    return apply(db, info.name, "start",
                 _configured(info.version, config,
                             lambda d: rollout.start(d, info.version, seed=seed, steps=steps,
                                                     shadow=shadow, shadow_percent=shadow_percent,
                                                     by=key, window=window, gates=gates,
                                                     blue_green=blue_green,
                                                     shadow_window=shadow_window,
                                                     tolerance=tolerance)),
                 author=author, reason=reason)


def change(db: Database, name: str, action: str, *, author: str, reason: str = "",
           expect_revision: int | None = None) -> DeploymentEvent:
    """Apply one of ``ACTIONS`` to model ``name``'s deployment."""
    if action not in ACTIONS:
        raise InvalidInputError(f"unknown deployment action '{action}'",
                                hint=f"one of {', '.join(ACTIONS)}")
    return apply(db, name, action, ACTIONS[action], author=author, reason=reason,
                 expect_revision=expect_revision)
