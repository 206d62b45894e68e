"""A version's deployment configuration: routing, gates, loader settings and environment.

It is given at deploy time (``--config deploy.yaml`` and flags, over the defaults the version's
own metadata declares in ``deployment.config`` and ``deployment.environment``) and stored in the
deployment state of every event while the version is served (``Deployment.configs``), so the
append-only ``deployment_events`` rows say which configuration went with which version, and a
rollback restores the one that went with the version it returns to. The file::

    routing: {steps: [5, 25, 50, 100], by: "header:X-User-Id", shadow_percent: 10, window: 3600}
    gates: {max_error_rate: 0.01, max_p99_ratio: 1.5, min_requests: 100}
    loader: {timeout: 2, threads: 4, isolation: process}     # isolation: auto | process
    environment: {FOO: "1"}

Unknown keys, wrong types, hostile values (NUL bytes, names that are not environment variable
names, infinite timeouts) are ``InvalidDeployConfigError`` naming the file and the key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from modelkeep.errors import InvalidDeployConfigError
from modelkeep.registry.gates import GatePolicy

ISOLATIONS = ("auto", "process", "inline")
MAX_THREADS = 1024
MAX_ENV_VALUE = 32 * 1024
MAX_FILE = 1024 * 1024
SECTIONS = ("routing", "gates", "loader", "environment")
ROUTING_KEYS = ("steps", "by", "shadow_percent", "window")
GATE_KEYS = ("max_error_rate", "max_p99_ratio", "min_requests", "p99_slack_ms", "expressions",
             "min_feedback")
LOADER_KEYS = ("timeout", "threads", "isolation")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


@dataclass(frozen=True)
class DeployConfig:
    """How a version is served. ``timeout`` (seconds a prediction may take) and ``threads``
    (predictions at once; worker processes for a version in a worker) fall back to the
    gateway's own when None; ``isolation`` ``process`` runs the version in a worker process even
    when it could run inside the gateway (``auto``: a worker only when its dependency lock
    differs from the gateway's or it sets environment variables); ``inline`` (opt-in) calls it
    on the gateway's event loop, with no thread hop and no timeout: a hang blocks the process.
    ``routing`` and ``gates`` shape a rollout (the keys of ``--steps``, ``--by``, ... and of
    the gate flags)."""

    timeout: float | None = None
    threads: int | None = None
    isolation: str = "auto"
    environment: Mapping[str, str] = field(default_factory=dict)
    routing: Mapping[str, Any] = field(default_factory=dict)
    gates: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_loader(self.timeout, self.threads, self.isolation, "the configuration")
        for name, value in self.environment.items():
            check_env(name, value, "the configuration")
        check_inline(self.isolation, self.environment, "the configuration")

    @property
    def needs_process(self) -> bool:
        """Whether the version must run in a worker process whatever its dependencies."""
        return self.isolation == "process" or bool(self.environment)

    def process_key(self) -> str:
        """What a loaded version depends on: a change means loading it again."""
        env = ",".join(f"{k}={v}" for k, v in sorted(self.environment.items()))
        return f"{self.isolation}|{self.threads}|{self.timeout}|{env}"

    def with_overrides(self, *, timeout: float | None = None, threads: int | None = None,
                       isolation: str | None = None,
                       environment: Mapping[str, str] | None = None) -> DeployConfig:
        """This configuration with the settings given (flags win over the file)."""
        return replace(self, timeout=self.timeout if timeout is None else timeout,
                       threads=self.threads if threads is None else threads,
                       isolation=isolation or self.isolation,
                       environment={**self.environment, **(environment or {})})

    def under(self, base: DeployConfig) -> DeployConfig:
        """This configuration over ``base`` (the version's registered defaults)."""
        return replace(self, timeout=base.timeout if self.timeout is None else self.timeout,
                       threads=base.threads if self.threads is None else self.threads,
                       isolation=self.isolation if self.isolation != "auto" else base.isolation,
                       environment={**base.environment, **self.environment})

    def to_dict(self) -> dict[str, Any]:
        return {"routing": dict(self.routing), "gates": dict(self.gates),
                "loader": {"timeout": self.timeout, "threads": self.threads,
                           "isolation": self.isolation},
                "environment": dict(sorted(self.environment.items()))}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "the configuration") -> DeployConfig:
        """A configuration from its JSON/YAML form (``to_dict``'s shape), checked."""
        if not isinstance(data, Mapping):
            raise _bad(source, "is not a mapping of routing, gates, loader, environment")
        _known(data, SECTIONS, source, "")
        routing = _section(data, "routing", ROUTING_KEYS, source)
        gates = _section(data, "gates", GATE_KEYS, source)
        loader = _section(data, "loader", LOADER_KEYS, source)
        env = _section(data, "environment", None, source)
        for name, value in env.items():
            check_env(name, value, source)
        timeout, threads = loader.get("timeout"), loader.get("threads")
        isolation = loader.get("isolation") or "auto"
        check_loader(timeout, threads, isolation, source)
        check_inline(isolation, env, source)
        return cls(timeout=None if timeout is None else float(timeout), threads=threads,
                   isolation=isolation, environment={str(k): v for k, v in env.items()},
                   routing=routing, gates=gates)


def load_config_file(path: Path | str) -> DeployConfig:
    """The configuration in YAML (or JSON) file ``path``."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from modelkeep.schema.yamllimits import LimitedComposer

    source = str(path)
    try:
        data = Path(path).read_bytes()[:MAX_FILE + 1]
    except OSError as exc:
        raise _bad(source, f"cannot be read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE:
        raise _bad(source, f"is larger than {MAX_FILE} bytes")
    yaml = YAML(typ="safe", pure=True)
    yaml.Composer = LimitedComposer
    try:
        doc = yaml.load(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise _bad(source, "is not UTF-8 text") from None
    except (YAMLError, RecursionError, ValueError) as exc:
        raise _bad(source, f"is not valid YAML: {' '.join(str(exc).split())}") from None
    return DeployConfig.from_dict(doc if doc is not None else {}, source)


def registered_defaults(metadata: Mapping[str, Any]) -> DeployConfig:
    """The configuration a version's metadata declares (``deployment.config`` keys timeout,
    threads, isolation; ``deployment.environment``); other config keys are not the gateway's."""
    deployment = metadata.get("deployment") or {}
    config = deployment.get("config") or {}
    loader = {k: config[k] for k in LOADER_KEYS if config.get(k) is not None}
    env = {str(k): str(v) for k, v in (deployment.get("environment") or {}).items()}
    return DeployConfig.from_dict({"loader": loader, "environment": env},
                                  "the version's deployment metadata")


def check_env(name: Any, value: Any, source: str) -> None:
    """An environment variable a worker process may be given."""
    if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
        raise _bad(source, f"environment variable name {name!r} is not a name like FOO_BAR")
    if name.upper().startswith("MODELKEEP_"):
        raise _bad(source, f"environment variable {name} is modelkeep's own: it says which "
                   "keep a worker opens")
    if not isinstance(value, str) or "\0" in value or len(value) > MAX_ENV_VALUE:
        raise _bad(source, f"environment variable {name}: its value must be text without NUL "
                   f"bytes, at most {MAX_ENV_VALUE} characters (quote numbers: \"1\")")


def check_loader(timeout: Any, threads: Any, isolation: Any, source: str) -> None:
    """Loader settings: a positive finite timeout, 1..1024 threads, a known isolation."""
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not 0 < timeout < math.inf):
        raise _bad(source, f"loader timeout {timeout!r} is not a positive number of seconds")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                or not 1 <= threads <= MAX_THREADS):
        raise _bad(source, f"loader threads {threads!r} is not a whole number in 1..{MAX_THREADS}")
    if isolation not in ISOLATIONS:
        raise _bad(source, f"loader isolation {isolation!r} is not one of {', '.join(ISOLATIONS)}")


def check_inline(isolation: str, environment: Mapping[str, Any], source: str) -> None:
    """``isolation: inline`` runs the version in the gateway's own process: no environment."""
    if isolation == "inline" and environment:
        raise _bad(source, "loader isolation inline runs the version in the gateway's own "
                   "process, so it cannot have environment variables (they need a worker process)")


def _section(data: Mapping[str, Any], name: str, keys: tuple[str, ...] | None,
             source: str) -> dict[str, Any]:
    value = data.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _bad(source, f"{name} is not a mapping")
    if keys is not None:
        _known(value, keys, source, f"{name}.")
    return dict(value)


def _known(data: Mapping[str, Any], keys: tuple[str, ...], source: str, prefix: str) -> None:
    for key in data:
        if key not in keys:
            raise _bad(source, f"unknown key {prefix}{key} (known: {', '.join(keys)})")


def _bad(source: str, problem: str) -> InvalidDeployConfigError:
    return InvalidDeployConfigError(f"{source}: {problem}", path=source)


@dataclass(frozen=True)
class RolloutShape:
    """A rollout's steps, request key, shadow share, window and gates: the flags given, else
    the configuration's ``routing`` and ``gates``, else the defaults (None)."""

    steps: tuple[int, ...] | None
    by: str | None
    shadow_percent: float
    window: float | None
    gates: GatePolicy | None


def rollout_shape(config: DeployConfig, *, steps: tuple[int, ...] | None, by: str | None,
                  shadow_percent: float | None, window: float | None,
                  gates: GatePolicy | None) -> RolloutShape:
    """Flags over the configuration's routing and gates."""
    routing = config.routing
    raw_steps = routing.get("steps")
    if steps is None and raw_steps is not None:
        if not isinstance(raw_steps, list) or not all(
                isinstance(s, int) and not isinstance(s, bool) for s in raw_steps):
            raise _bad("the configuration", "routing.steps is not a list of whole percents")
        steps = tuple(raw_steps)
    for key in ("shadow_percent", "window"):
        value = routing.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise _bad("the configuration", f"routing.{key} is not a number")
    if routing.get("by") is not None and not isinstance(routing["by"], str):
        raise _bad("the configuration", "routing.by is not header:NAME")
    if gates is None and config.gates:
        try:
            gates = GatePolicy(**config.gates)
        except TypeError as exc:
            raise _bad("the configuration", f"gates: {exc}") from None
    shadow = routing.get("shadow_percent") if shadow_percent is None else shadow_percent
    return RolloutShape(steps=steps, by=by or routing.get("by"),
                        shadow_percent=100.0 if shadow is None else float(shadow),
                        window=routing.get("window") if window is None else window, gates=gates)
