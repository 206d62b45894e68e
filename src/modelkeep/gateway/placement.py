"""Where a version runs: inside the gateway, or in worker processes of its own.

A version runs in worker processes (``gateway/workers.py``) when its requirements
(``registry/dependency_lock.py``) are not met by the gateway's own packages (then in the
environment uv builds for its lock, ``gateway/envs.py``), when its deployment configuration
sets environment variables (they belong to a process), or when it asks for
``isolation: process``; otherwise it is loaded in the gateway (``Keep.load``), the cheapest way
to call it (``isolation: inline``, opt-in: cheaper still, called on the event loop, ``app.py``).
Building an environment happens here, in the gateway's loader thread: a failure marks that
version unhealthy with uv's reason and leaves the others serving.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from modelkeep.registry.dependency_lock import ServingNeeds
from modelkeep.registry.deploy_config import DeployConfig
from modelkeep.registry.loaders import LoadedModel

from .envs import build_env, needs_own_env
from .workers import START_TIMEOUT, WorkerModel

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class PlacingKeep(Protocol):
    """What placing a version needs of a keep."""

    def load(self, ref: str) -> LoadedModel: ...

    def serving_needs(self, ref: str) -> ServingNeeds: ...


@dataclass(frozen=True)
class Placement:
    """How a version is served: ``in-process`` (called in a prediction thread), ``inline``
    (called on the event loop, opt-in), or ``worker`` with ``python`` (``env``: the
    hash of the environment built for its lock, empty for the gateway's own interpreter;
    ``prefix``: the workers' ``sys.prefix``, ``workers`` how many answer it)."""

    mode: str
    python: str = ""
    env: str = ""
    prefix: str = ""
    workers: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def place(needs: ServingNeeds, config: DeployConfig) -> Placement:
    """Decide where the version runs, building its environment first when it needs one."""
    if needs.lock and needs_own_env(needs.lock):
        python = build_env(Path(needs.envs_dir), needs.lock, ref=needs.ref)
        return Placement("worker", str(python), python.parent.parent.parent.name)
    if config.needs_process:
        return Placement("worker", sys.executable)
    return Placement("inline" if config.isolation == "inline" else "in-process")


class Placer:
    """The gateway's ``load``: each version where ``place`` says, with its configuration
    (``configs(ref)``: the one deployed with it; ``timeout``/``threads`` default to the
    gateway's)."""

    def __init__(self, keep: PlacingKeep, configs: Callable[[str], DeployConfig], *,
                 timeout: float, start_timeout: float = START_TIMEOUT) -> None:
        self.keep = keep
        self.configs = configs
        self.timeout = timeout
        self.start_timeout = start_timeout
        self.placements: dict[str, Placement] = {}

    def load(self, ref: str) -> LoadedModel:
        """Version ``ref``, loaded here or started in its worker processes."""
        config = self.configs(ref)
        needs = self.keep.serving_needs(ref)
        placement = place(needs, config)
        self.placements[ref] = placement
        if placement.mode != "worker":  # in-process or inline: loaded here alike
            return self.keep.load(ref)
        env = {**os.environ, **needs.reopen_env, **expand(config.environment, os.environ)}
        cwd = Path(needs.envs_dir)
        cwd.mkdir(parents=True, exist_ok=True)
        size = config.threads or 1
        model = WorkerModel(ref, placement.python, env=env, cwd=cwd, size=size,
                            timeout=config.timeout or self.timeout,
                            start_timeout=self.start_timeout)
        self.placements[ref] = replace(placement, prefix=str(model.info.get("prefix", "")),
                                       workers=size)
        return model


def expand(environment: Mapping[str, str], outside: Mapping[str, str]) -> dict[str, str]:
    """Environment variables with each ``${NAME}`` replaced by the gateway's own ``NAME``
    (empty when unset), so a secret is referred to by name and never stored in the keep."""
    return {name: _REFERENCE.sub(lambda m: outside.get(m.group(1), ""), value)
            for name, value in environment.items()}
