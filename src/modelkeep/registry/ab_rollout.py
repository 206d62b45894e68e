"""A/B/n tests as rollouts: start one, change its split, end it with a winner.

An A/B/n test is a rollout in phase ``ab`` (``registry/rollout.py``): its arms (label ->
version, the control ``A`` first) and the segments of the unit interval each arm owns
(``ab_split.py``) live in the deployment state, so every gateway routes by them and the
deployment history records each change. A test starts only when no rollout runs (and any
other rollout is refused while it runs); ``abort`` and ``rollback`` send all traffic back to
the stable version; ``end --winner`` makes the winning arm's version the stable one.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import replace

from modelkeep.db.database import Database
from modelkeep.errors import InvalidInputError, RolloutStateError
from modelkeep.registry import ab_split, rollout
from modelkeep.registry.deploy_config import DeployConfig, registered_defaults
from modelkeep.registry.deploy_guard import deploy_reason
from modelkeep.registry.deployments import DeploymentEvent, apply, current
from modelkeep.registry.rollout import STABLE_MEMORY, Deployment, Rollout
from modelkeep.registry.versions import VersionInfo, version_metadata


def _refuse(d: Deployment, action: str, why: str, hint: str) -> RolloutStateError:
    return RolloutStateError(f"cannot {action} {d.model}: {why}", hint=hint, name=d.model,
                             action=action)


def _test(d: Deployment, action: str) -> Rollout:
    running = d.active_rollout
    if running is None or running.phase != "ab":
        raise _refuse(d, action, "no A/B test is running",
                      f"start one: modelkeep deploy {d.model} --ab A=VERSION,B=VERSION --split 50/50")
    return running


def start(d: Deployment, arms: tuple[tuple[str, str], ...], split: dict[str, int], *, seed: str,
          by: str | None, configs: Mapping[str, DeployConfig] | None = None) -> Deployment:
    """Begin a test of ``arms`` with ``split`` (label -> UNITS); the control arm's version
    becomes the stable one when nothing is deployed yet. ``configs``: each arm version's
    registered configuration, recorded unless the state already holds one for it."""
    if d.active_rollout is not None:
        raise _refuse(d, "start an A/B test of", f"{rollout.running_text(d.active_rollout)} "
                      "is already running", f"finish it first: {rollout.finish(d)}")
    test = Rollout(candidate=arms[1][1], phase="ab", steps=(100,), by=by, seed=seed, window=0.0,
                   arms=arms, segments=ab_split.initial_segments(split))
    return replace(d, stable=d.stable or arms[0][1], rollout=test,
                   configs={**(configs or {}), **d.configs})


def resplit(d: Deployment, split: dict[str, int]) -> Deployment:
    """The running test with ``split``, moving the fewest users (``ab_split.resplit``)."""
    test = _test(d, "change the split of")
    return replace(d, rollout=replace(test, segments=ab_split.resplit(test.segments, split)))


def end(d: Deployment, winner: str) -> Deployment:
    """End the running test: the ``winner`` arm's version serves all traffic as the stable one."""
    test = _test(d, "end the A/B test of")
    versions = dict(test.arms)
    if winner not in versions:
        raise InvalidInputError(f"{d.model}'s A/B test has no arm {winner!r}",
                                hint=f"one of {', '.join(versions)}")
    version = versions[winner]
    previous = tuple(v for v in (d.stable, *d.previous) if v and v != version)[:STABLE_MEMORY]
    return replace(d, stable=version, previous=previous,
                   rollout=replace(test, phase="ended", candidate=version))


def start_test(db: Database, name: str, arms: tuple[tuple[str, str], ...],
               infos: list[VersionInfo], split_text: str | None, by: str | None, *, author: str,
               reason: str = "", force: bool = False) -> DeploymentEvent:
    """Store the start of an A/B/n test of ``arms`` (``infos``: their resolved versions),
    each arm's version served with the configuration its metadata declares. Every arm serves
    real users, so each version must have passed its latest validation, as for a deploy,
    unless ``force`` (with a ``reason``), or be one that served them all as the stable version
    (now, or one of those a rollback returns to, which needs no validation either)."""
    state = current(db, name)
    served = {state.stable, *state.previous}
    reasons = [deploy_reason(db, info, force=force, reason=reason)
               for info in infos if info.version not in served]
    reason = reasons[0] if reasons else reason
    labels = [label for label, _ in arms]
    split = ab_split.parse_split(split_text, labels) if split_text else ab_split.equal(labels)
    resolved = tuple((label, info.version) for (label, _), info in zip(arms, infos, strict=True))
    key, seed = rollout.check_key(by), secrets.token_hex(8)
    configs = {info.version: registered_defaults(version_metadata(db, info.id)) for info in infos}
    return apply(db, name, "ab-start",
                 lambda d: start(d, resolved, split, seed=seed, by=key, configs=configs),
                 author=author, reason=reason)


def split_test(db: Database, name: str, split_text: str, *, author: str,
               reason: str = "") -> DeploymentEvent:
    """Store a new split of ``name``'s running test."""
    def transition(d: Deployment) -> Deployment:
        labels = [label for label, _ in _test(d, "change the split of").arms]
        return resplit(d, ab_split.parse_split(split_text, labels))

    return apply(db, name, "ab-split", transition, author=author, reason=reason)


def end_test(db: Database, name: str, winner: str, *, author: str,
             reason: str = "") -> DeploymentEvent:
    """Store the end of ``name``'s running test with ``winner`` as the stable version."""
    return apply(db, name, "ab-end", lambda d: end(d, winner), author=author, reason=reason)
