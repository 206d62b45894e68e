"""The versions a gateway holds loaded, each healthy, loading, or unhealthy with the reason.

A version that fails to load (a loader error, a missing file, an entry point that raises while
building) is recorded as unhealthy with its one-line reason; every other version keeps serving.
Versions are loaded one at a time by the caller of ``sync`` (the gateway's loader thread), never
on a request's path; requests only look up what is loaded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from modelkeep.clock import now_iso
from modelkeep.errors import ModelkeepError, NotDeployedError, VersionUnhealthyError
from modelkeep.registry.loaders import LoadedModel

RETIRE_AFTER = 30.0  # seconds a replaced model may finish the requests it is answering


@dataclass(frozen=True)
class VersionHealth:
    """One version in a gateway: ``status`` is loading, healthy or unhealthy (with ``reason``)."""

    ref: str
    status: str
    reason: str = ""
    since: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ModelkeepError):
        return exc.message
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _close(model: object) -> None:
    close = getattr(model, "close", None)
    if callable(close):
        close()


class VersionPool:
    """Loaded versions by ref (``NAME@VERSION``), loaded with ``load`` when ``sync`` asks."""

    def __init__(self, load: Callable[[str], LoadedModel]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._models: dict[str, LoadedModel] = {}
        self._health: dict[str, VersionHealth] = {}
        self._tokens: dict[str, str] = {}
        self._retiring: dict[threading.Timer, LoadedModel] = {}

    def sync(self, wanted: Iterable[str], tokens: Mapping[str, str] | None = None) -> None:
        """Load every ref in ``wanted`` not yet tried, and unload those no longer wanted;
        ``tokens`` (ref -> what its loading depends on): a ref whose token changed is loaded
        again (its configuration changed) while the old one keeps answering, then swapped."""
        wanted = list(dict.fromkeys(wanted))
        tokens = tokens or {}
        with self._lock:
            for ref in set(self._health) - set(wanted):
                self._health.pop(ref)
                # retired like a replaced model: a request routed to it just before the state
                # changed (a rollback) still holds it, and would see its worker killed
                self._retire(self._models.pop(ref, None))
            changed = [ref for ref in wanted if ref in self._health
                       and self._tokens.get(ref, "") != tokens.get(ref, "")]
            todo = [ref for ref in wanted if ref not in self._health] + changed
            self._tokens = {ref: tokens.get(ref, "") for ref in wanted}
            for ref in todo:
                if ref not in self._models:
                    self._health[ref] = VersionHealth(ref, "loading", since=now_iso())
        for ref in todo:
            try:
                model = self._load(ref)
            except Exception as exc:  # any failure marks this version only
                health = VersionHealth(ref, "unhealthy", _reason(exc), now_iso())
                with self._lock:
                    if ref in self._health:
                        self._health[ref] = health
                        self._retire(self._models.pop(ref, None))
                continue
            with self._lock:
                if ref in self._health:  # still wanted
                    self._retire(self._models.get(ref))
                    self._models[ref] = model
                    self._health[ref] = VersionHealth(ref, "healthy", since=now_iso())
                else:
                    _close(model)

    def _retire(self, model: LoadedModel | None) -> None:
        """Close a model replaced by a new load, or no longer wanted, once the requests it
        answers are done (RETIRE_AFTER)."""
        if model is None:
            return

        def close() -> None:
            self._retiring.pop(timer, None)
            _close(model)
        timer = threading.Timer(RETIRE_AFTER, close)
        timer.daemon = True
        self._retiring[timer] = model
        timer.start()

    def healthy(self, ref: str) -> bool:
        """Whether ``ref`` is loaded and can answer."""
        return ref in self._models

    def failed(self, ref: str) -> bool:
        """Whether loading ``ref`` was tried and failed (not: still loading, or not yet asked
        for, as a version is between a state change and the loader thread picking it up)."""
        health = self._health.get(ref)
        return health is not None and health.status == "unhealthy"

    def get(self, ref: str) -> LoadedModel:
        """The loaded model for ``ref``; ``VersionUnhealthyError`` with the reason when it failed
        to load or is still loading, ``NotDeployedError`` when this gateway does not hold it."""
        model = self._models.get(ref)
        if model is not None:
            return model
        health = self._health.get(ref)
        if health is None:
            raise NotDeployedError(f"{ref} is not loaded in this gateway",
                                   hint="GET /v1/models lists what it serves", ref=ref)
        why = "is still loading" if health.status == "loading" else f"failed to load: {health.reason}"
        raise VersionUnhealthyError(f"{ref} {why}", ref=ref)

    def health(self) -> list[VersionHealth]:
        """Every version held or tried, by ref."""
        with self._lock:
            return [self._health[ref] for ref in sorted(self._health)]

    def close(self) -> None:
        """Unload everything (replaced models waiting to finish too)."""
        self.sync([])
        for timer, model in list(self._retiring.items()):
            timer.cancel()
            _close(model)
        self._retiring.clear()
