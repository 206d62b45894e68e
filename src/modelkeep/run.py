"""``modelkeep.Run``: a run open in this process, which can also register a model version.

    with modelkeep.start_run(model="bert-classifier", name="lr-sweep-3") as run:
        run.log_params({"lr": 3e-5, "epochs": 3})
        run.log_dataset("data/train", role="train", preprocessing=["lowercase"])
        for step, loss in enumerate(losses):
            run.log_metric("loss", loss, step=step)
        run.register_model("out/", bump="minor")

Who owns a run, and what leaving the ``with`` block does: ``tracking/api.py``.

Logging is tracking's (``tracking.api.RunLog``); registering is the registry's. Tracking may not
import the registry (they stand side by side), so the class that joins them stands above both,
beside the keep: it reaches the keep through ``RunKeep``, what it needs of one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from modelkeep.config import Settings
from modelkeep.db.database import Database
from modelkeep.errors import InvalidInputError
from modelkeep.registry.semver import Bump
from modelkeep.registry.versions import VersionInfo
from modelkeep.storage.hashing import Progress
from modelkeep.storage.objects import ObjectStore
from modelkeep.tracking.api import RunLog, open_run
from modelkeep.tracking.capture import framework_metadata
from modelkeep.tracking.runs import RunInfo


class RunKeep(Protocol):
    """What a run needs of the keep it logs to (``Keep`` provides it)."""

    @property
    def db(self) -> Database: ...

    @property
    def store(self) -> ObjectStore: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def author(self) -> str: ...

    def register(self, name: str, path: Path | str, *, version: str | None = None,
                 bump: Bump | None = None, metadata: Any = None,
                 params: Mapping[str, Any] | None = None, metrics: Mapping[str, Any] | None = None,
                 run_id: str | None = None, lineage: Mapping[str, Any] | None = None,
                 progress: Progress | None = None) -> VersionInfo: ...

    def resolve(self, ref: str, at: str | None = None) -> VersionInfo: ...


class Run(RunLog):
    """A run open in this process: log to it, register a version from it, then end it (or
    leave the ``with`` block). Made by ``modelkeep.start_run`` or ``Keep.start_run``."""

    def __init__(self, keep: RunKeep, info: RunInfo, *, owner: bool,
                 flush_interval: float | None = None, steps: dict[str, int] | None = None,
                 handle_signals: bool = True) -> None:
        super().__init__(keep.db, keep.store, info, owner=owner, author=keep.author,
                         flush_interval=flush_interval or keep.settings.flush_interval,
                         steps=steps, handle_signals=handle_signals)
        self.keep = keep

    def register_model(self, path: Path | str, *, bump: Bump | None = None,
                       name: str | None = None, version: str | None = None,
                       metadata: Any = None, progress: Progress | None = None) -> VersionInfo:
        """Register ``path`` as a version whose lineage is this run: params, final metrics,
        datasets, code and pipeline. A run of ``reproduce --run`` registers nothing: it keeps
        the files as the run's artifact, for the reproduction's comparison."""
        from modelkeep.tracking.reproduce_check import reproduction_of, store_reproduction

        reproducing = reproduction_of(self.keep.db, self.info.pk)
        if reproducing is not None:
            self.flush()
            note = store_reproduction(self.keep.db, self.keep.store, self.info, Path(path),
                                      progress)
            return replace(self.keep.resolve(reproducing), unchanged=True, notes=(note,))
        model = name or self.info.model
        if not model:
            raise InvalidInputError("this run has no model name",
                                    hint="pass register_model(path, name='my-model')")
        facts = self.lineage()
        return self.keep.register(
            model, path, version=version, bump=bump,
            metadata=metadata if metadata is not None else framework_metadata(model),
            params=facts.params, metrics=facts.metrics, run_id=self.id,
            lineage=facts.lineage, progress=progress,
        )


def start_in(keep: RunKeep, model: str | None = None, name: str | None = None, *,
             run_id: str | None = None, tags: Mapping[str, Any] | None = None,
             params: Mapping[str, Any] | None = None, capture: bool = True,
             system_metrics: float | None = None, flush_interval: float | None = None,
             owned: bool = True, handle_signals: bool = True) -> Run:
    """Start a run in ``keep`` (or attach to one): what ``Keep.start_run`` does."""
    def make(info: RunInfo, owner: bool, steps: dict[str, int] | None) -> Run:
        return Run(keep, info, owner=owner, flush_interval=flush_interval, steps=steps,
                   handle_signals=handle_signals)

    return open_run(make, keep.db, keep.store, author=keep.author, model=model, name=name,
                    run_id=run_id, tags=tags, params=params, capture=capture,
                    system_metrics=system_metrics, owned=owned)
