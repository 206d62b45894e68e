"""Keeping a gateway's routing state in step with the keep's database.

A poller thread asks the keep for its deployment revision every ``interval`` seconds (one
cheap query) and re-reads the deployments only when it changed, then publishes them with one
reference swap, so requests never see half a state. Every gateway process polls the same
database, so all apply a change within about one interval of each other. Every second it also reports this
gateway's counts and applies the canary gates (``gatekeeper.py``). A loader thread
loads the versions the new state needs (the running candidate and the most recent stable
versions), so a slow load never delays the next poll: a rollback to a version still loaded
takes effect at the next poll.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from modelkeep.registry.dependency_lock import ServingNeeds
from modelkeep.registry.deploy_config import DeployConfig
from modelkeep.registry.loaders import LoadedModel
from modelkeep.registry.rollout import Deployment

from .ab_meter import TallyKeep
from .bluegreen import switch_ready
from .gatekeeper import GateKeep, GateKeeper
from .payload_log import PayloadKeep
from .pool import VersionPool
from .spend import SpendKeep

STATS_INTERVAL = 1.0  # seconds between reports of this gateway's counts (and gate checks)


class ServingKeep(GateKeep, PayloadKeep, SpendKeep, TallyKeep, Protocol):
    """What a gateway needs of a keep."""

    def deployment_revision(self) -> int: ...

    def deployments(self) -> list[Deployment]: ...

    def load(self, ref: str) -> LoadedModel: ...

    def serving_needs(self, ref: str) -> ServingNeeds: ...
    def example_inputs(self, ref: str) -> list[object]: ...


class StateWatcher:
    """Polls ``keep`` for deployment changes and keeps ``pool`` loaded with what they route to."""

    def __init__(self, keep: ServingKeep, pool: VersionPool, gatekeeper: GateKeeper, *,
                 interval: float = 0.2, keep_stable: int = 3) -> None:
        self.keep = keep
        self.pool = pool
        self.gatekeeper = gatekeeper
        self.interval = interval
        self.keep_stable = keep_stable
        self.deployments: dict[str, Deployment] = {}
        self.revision = -1
        self.poll_error = ""  # the last failure to read the state (the last good state stays)
        self.ready = threading.Event()  # set once the first state is read and loaded
        self._changed = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def wanted(self) -> list[str]:
        """The refs the current state needs loaded."""
        return [f"{d.model}@{v}" for d in self.deployments.values()
                for v in d.serving(self.keep_stable)]

    def poll_once(self) -> bool:
        """Read the state if it changed since the last poll; True when it did."""
        try:
            revision = self.keep.deployment_revision()
            if revision == self.revision:
                self.poll_error = ""
                return False
            deployments = {d.model: d for d in self.keep.deployments()}
        except Exception as exc:  # a database hiccup: keep serving the last good state
            self.poll_error = f"{type(exc).__name__}: {exc}".splitlines()[0]
            return False
        self.deployments = deployments
        self.revision = revision
        self.poll_error = ""
        self._changed.set()
        return True

    def config(self, ref: str) -> DeployConfig:
        """The configuration ``ref`` was deployed with, in the current state."""
        name, _, version = ref.partition("@")
        found = self.deployments.get(name)
        return found.config(version) if found is not None else DeployConfig()

    def load_once(self) -> None:
        """Bring the pool in line with the current state (a version whose configuration
        changed is loaded again with the new one)."""
        self._changed.clear()
        wanted = self.wanted()
        self.pool.sync(wanted, {ref: self.config(ref).process_key() for ref in wanted})
        try:
            if switch_ready(self.keep, self.pool, self.deployments):  # blue-green, once loaded
                self.poll_once()
        except Exception as exc:  # the database unreachable: tried again at the next change
            self.gatekeeper.last_error = f"{type(exc).__name__}: {exc}".splitlines()[0]

    def start(self) -> None:
        """Read the state once, then poll and load in two daemon threads."""
        self.poll_once()
        self._threads = [threading.Thread(target=self._poll_loop, name="modelkeep-poll", daemon=True),
                         threading.Thread(target=self._load_loop, name="modelkeep-load", daemon=True)]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop both threads, report the last counts and unload every version."""
        self._stop.set()
        self._changed.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self.gatekeeper.flush()
        self.pool.close()

    def _poll_loop(self) -> None:
        next_report = 0.0
        while not self._stop.wait(self.interval):
            self.poll_once()
            if time.monotonic() >= next_report:
                next_report = time.monotonic() + STATS_INTERVAL
                self.gatekeeper.flush()
                if self.gatekeeper.judge(self.deployments):
                    self.poll_once()  # apply our own move now rather than at the next poll

    def _load_loop(self) -> None:
        while not self._stop.is_set():
            self.load_once()
            self.ready.set()
            self._changed.wait()
