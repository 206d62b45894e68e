"""The Python API of a run: ``start_run`` and the ``Run`` it returns.

    with modelkeep.start_run(model="bert-classifier", name="lr-sweep-3") as run:
        run.log_params({"lr": 3e-5, "epochs": 3})
        run.log_dataset("data/train", role="train", preprocessing=["lowercase"])
        for step, loss in enumerate(losses):
            run.log_metric("loss", loss, step=step)
        run.register_model("out/", bump="minor")

The process that starts a run owns it: leaving the ``with`` block ends it ``finished``
(``failed`` on an exception, ``killed`` on KeyboardInterrupt/SystemExit). Other processes
attach with ``start_run(run_id=...)`` or ``MODELKEEP_RUN_ID``: they log to the same run, and
leaving their ``with`` block only flushes their points; ``run.end()`` ends the run explicitly.
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelkeep import config
from modelkeep.errors import InvalidInputError, RunNotActiveError
from modelkeep.metric import metric_float
from modelkeep.redact import redact_argv
from modelkeep.storage.hashing import Progress
from modelkeep.tracking import datasets as ds
from modelkeep.tracking import lifecycle, runs
from modelkeep.tracking.capture import (
    capture_start,
    framework_metadata,
    launch_command,
    new_frameworks,
)
from modelkeep.tracking.metrics import MetricWriter, Point, final_metrics, next_steps
from modelkeep.tracking.sysmetrics import SYSTEM_PREFIX, SystemSampler
from modelkeep.tracking.values import MAX_STEP, check_name, check_step

if TYPE_CHECKING:
    from modelkeep.keep import Keep
    from modelkeep.registry.versions import Bump, VersionInfo


class Run:
    """A run open in this process: log to it, then end it (or leave the ``with`` block)."""

    def __init__(self, keep: Keep, info: runs.RunInfo, *, owner: bool,
                 flush_interval: float | None = None, steps: dict[str, int] | None = None) -> None:
        self.keep = keep
        self.info = info
        self.id: str = info.id
        self.owner = owner
        self._db = keep.db
        self._steps: dict[str, int] = dict(steps or {})
        self._ended = False
        self._closed = False
        self._sampler: SystemSampler | None = None
        self._writer = MetricWriter(keep.db, info.pk, flush_interval or keep.settings.flush_interval)
        self._append: Callable[[Point], None] = self._append_first  # then the deque's append
        self._time = time.time
        lifecycle.track(self)

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.info.name!r} model={self.info.model!r}>"

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: Any) -> None:
        if not self.owner:
            self.close()
        elif exc_type is None or (exc_type is SystemExit and exc.code in (0, None)):  # type: ignore[union-attr]
            self.end("finished")
        elif issubclass(exc_type, KeyboardInterrupt | SystemExit):
            self.end("killed")
        else:
            self.end("failed")

    # -- metrics (the hot path) -----------------------------------------------------------

    def log_metric(self, name: str, value: float, step: int | None = None) -> None:
        """Buffer one point; ``step`` defaults to the series' next step (0, 1, 2, ...)."""
        if self._ended:
            raise self._not_active()
        steps = self._steps
        try:
            known = name in steps
        except TypeError:
            known = False
        if not known:
            steps[check_name(name)] = 0
        if type(value) is not float:
            value = metric_float(name, value)
        if step is None:
            step = steps[name]
            steps[name] = step + 1
        else:
            if type(step) is not int or not -MAX_STEP <= step <= MAX_STEP:
                step = check_step(name, step)
            if step >= steps[name]:
                steps[name] = step + 1
        self._append((name, step, value, self._time()))

    def _append_first(self, point: Point) -> None:
        """Buffer this process's first point of the run and have it written at once, not an
        interval later: a process killed in its first seconds keeps what it logged."""
        self._append = self._writer.queue.append
        self._append(point)
        self._writer.wake()

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Buffer several points at one step (all are checked before any is kept)."""
        checked = [(check_name(k), metric_float(k, v)) for k, v in metrics.items()]
        for name, value in checked:
            self.log_metric(name, value, step)

    def flush(self) -> int:
        """Write the buffered points now; returns how many were written."""
        return self._writer.flush()

    # -- params, tags, lineage ------------------------------------------------------------

    def log_params(self, params: Mapping[str, Any] | None = None, **more: Any) -> None:
        """Record hyperparameters (fixed once logged: a different value later is an error).
        A string value whose name says it is a secret (``api_key``) is recorded as ``***``."""
        self._check_active()
        runs.log_params(self._db, self.info.pk, {**(params or {}), **more})

    def log_param(self, key: str, value: Any) -> None:
        """Record one hyperparameter."""
        self.log_params({key: value})

    def set_tags(self, tags: Mapping[str, Any] | None = None, **more: Any) -> None:
        """Set tags; setting a tag again replaces its value."""
        self._check_active()
        runs.set_tags(self._db, self.info.pk, {**(tags or {}), **more})

    def log_dataset(self, path: Path | str, role: str = "train", *, name: str | None = None,
                    preprocessing: Sequence[Any] | None = None,
                    augmentation: Sequence[Any] | None = None,
                    progress: Progress | None = None) -> dict[str, Any]:
        """Store a dataset version (a tree; the same bytes are the same version) and link it."""
        self._check_active()
        ds.check_role(role)
        pre = ds.processing_steps(preprocessing, "preprocessing")
        aug = ds.processing_steps(augmentation, "augmentation")
        if name is not None:
            check_name(name, "dataset")
        dataset = ds.store_dataset(self._db, self.keep.store, Path(path), name=name,
                                   author=self.keep.author, progress=progress)
        label = name or dataset["name"]
        ds.link_dataset(self._db, self.info.pk, dataset, role=role, name=label,
                        source=str(Path(path).resolve()), preprocessing=pre, augmentation=aug)
        return {"name": label, "role": role, "tree": dataset["tree_id"],
                "source": str(Path(path).resolve()), "preprocessing": pre, "augmentation": aug}

    def log_code(self, paths: Sequence[Path | str] | None = None) -> dict[str, Any]:
        """Snapshot the source (default: the Git work tree's non-ignored files, else the script)."""
        from modelkeep.tracking import git, snapshots

        self._check_active()
        state = git.capture_git(self.keep.store)
        if paths is not None:
            files, base = snapshots.expand(paths), None
        elif state is not None:
            files, base = git.tracked_files(Path(state.root)), Path(state.root)
        elif sys.argv and Path(sys.argv[0]).is_file():
            files, base = [Path(sys.argv[0])], Path(sys.argv[0]).resolve().parent
        else:
            raise InvalidInputError("no code to snapshot: not in a Git repository, no script",
                                    hint="pass run.log_code(paths=[...])")
        tree = snapshots.snapshot(self.keep.store, files, base)
        code = {**(state.to_code() if state else {}), "snapshot": tree.tree_id}
        runs.set_json_field(self._db, self.info.pk, "code_json", code)
        return code

    def log_pipeline(self, files: Sequence[Path | str] = (),
                     command: str | Sequence[str] | None = None) -> dict[str, Any]:
        """Snapshot the pipeline's scripts and config files and record its entry command."""
        from modelkeep.tracking import snapshots

        self._check_active()
        argv = redact_argv(shlex.split(command) if isinstance(command, str)
                           else [str(c) for c in command] if command is not None
                           else launch_command())
        pipeline: dict[str, Any] = {"command": argv, "scripts": [], "config_files": []}
        if files:
            chosen = snapshots.expand(files)
            base = snapshots.choose_base(chosen)
            pipeline["tree"] = snapshots.snapshot(self.keep.store, chosen, base).tree_id
            pipeline["scripts"], pipeline["config_files"] = snapshots.split_pipeline_files(chosen, base)
        runs.set_json_field(self._db, self.info.pk, "pipeline_json", pipeline)
        return pipeline

    def log_artifact(self, path: Path | str, *, name: str | None = None,
                     progress: Progress | None = None) -> dict[str, Any]:
        """Store a file or folder produced by the run (checkpoints, plots, reports)."""
        from modelkeep.tracking.artifacts import store_artifact

        self._check_active()
        return store_artifact(self._db, self.keep.store, self.info.pk, Path(path), name=name,
                              progress=progress)

    # -- registering ----------------------------------------------------------------------

    def register_model(self, path: Path | str, *, bump: Bump | None = None,
                       name: str | None = None, version: str | None = None,
                       metadata: Any = None, progress: Progress | None = None) -> VersionInfo:
        """Register ``path`` as a version whose lineage is this run: params, final metrics,
        datasets, code and pipeline."""
        from modelkeep.tracking.reproduce_check import reproduction_of, store_reproduction

        reproducing = reproduction_of(self._db, self.info.pk)  # reproduce --run: register nothing
        if reproducing is not None:
            self.flush()
            note = store_reproduction(self._db, self.keep.store, self.info, Path(path), progress)
            return replace(self.keep.resolve(reproducing), unchanged=True, notes=(note,))
        model = name or self.info.model
        if not model:
            raise InvalidInputError("this run has no model name",
                                    hint="pass register_model(path, name='my-model')")
        self.flush()
        lineage: dict[str, Any] = {"datasets": ds.run_datasets(self._db, self.info.pk)}
        for key in ("code", "pipeline"):
            value = runs.json_field(self._db, self.info.pk, f"{key}_json")
            if value:
                lineage[key] = value
        metrics = {k: v for k, v in final_metrics(self._db, self.info.pk).items()
                   if not k.startswith(SYSTEM_PREFIX)}
        return self.keep.register(
            model, path, version=version, bump=bump,
            metadata=metadata if metadata is not None else framework_metadata(model),
            params=runs.params_of(self._db, self.info.pk), metrics=metrics, run_id=self.id,
            lineage=lineage, progress=progress,
        )

    # -- ending ---------------------------------------------------------------------------

    def end(self, status: str = "finished") -> None:
        """Flush and end the run with ``status`` (finished, failed or killed)."""
        if status not in runs.END_STATUSES:
            raise InvalidInputError(f"invalid run status '{status}'",
                                    hint="use one of: " + ", ".join(runs.END_STATUSES))
        self.close(status)

    def close(self, status: str | None = None) -> None:
        """Flush and detach this process; the run ends only when ``status`` is given."""
        if self._closed:
            return
        self._ended = True
        if self._sampler is not None:
            self._sampler.stop()
        try:
            self._writer.close()
            frameworks = new_frameworks(self.keep.db, self.info.pk)
            if frameworks is not None or status is not None:
                with self._db.write():  # one transaction for the closing facts
                    if frameworks is not None:  # re-read under the lock: another writer may close
                        frameworks = new_frameworks(self.keep.db, self.info.pk) or frameworks
                        runs.set_json_field(self._db, self.info.pk, "frameworks_json", frameworks)
                    if status is not None:
                        runs.end_run(self._db, self.info.pk, status)
        finally:
            self._closed = True
            lifecycle.untrack(self)

    @property
    def status(self) -> str:
        """The run's status as stored now."""
        return runs.get_run(self._db, self.id).status

    def _check_active(self) -> None:
        if self._ended:
            raise self._not_active()

    def _not_active(self) -> RunNotActiveError:
        return RunNotActiveError(
            f"run {self.id} has ended; nothing was logged",
            hint="start a new run with modelkeep.start_run(...)", run=self.id,
        )

    # lifecycle hooks (atexit, SIGTERM)
    def _busy_in(self, thread_id: int) -> bool:
        return self._writer.flushing_thread == thread_id or self._db.in_transaction

    def _shutdown(self, status: str | None) -> None:
        if status is None:
            self.flush()
        else:
            self.close(status if self.owner else None)


def start_run(model: str | None = None, name: str | None = None, *, run_id: str | None = None,
              keep: Keep | Path | str | None = None, tags: Mapping[str, Any] | None = None,
              params: Mapping[str, Any] | None = None, capture: bool = True,
              system_metrics: float | None = None, flush_interval: float | None = None,
              owned: bool = True) -> Run:
    """Start a run (or attach to ``run_id`` / ``MODELKEEP_RUN_ID``) and return it.

    ``keep`` is an open Keep or a path (default: ``MODELKEEP_KEEP`` or found from the cwd);
    a keep opened from a path is opened once per process and shared by its runs
    (``tracking.shared``). ``capture`` records the environment, Git state and command line at
    start (read once per process: ``capture.capture_start``); ``system_metrics`` samples
    CPU/RAM/GPU use every that many seconds.
    """
    from modelkeep.keep import Keep
    from modelkeep.tracking.shared import shared_keep

    opened: Keep = keep if isinstance(keep, Keep) else shared_keep(keep)
    attach_to = run_id or config.env("MODELKEEP_RUN_ID")
    if attach_to:
        info = runs.get_run(opened.db, attach_to)
        runs.require_running(info)
        if model is not None and info.model not in (None, model):
            raise InvalidInputError(
                f"run {info.id} is for model '{info.model}', not '{model}'",
                hint="attach without model=, or unset MODELKEEP_RUN_ID", run=info.id)
        if model is not None and info.model is None:
            runs.set_model(opened.db, info.pk, model)
            info = runs.get_run(opened.db, info.id)
        run = Run(opened, info, owner=False, flush_interval=flush_interval,
                  steps=next_steps(opened.db, info.pk))
    else:
        info = runs.create_run(opened.db, model=model, name=name, author=opened.author,
                               owned=owned)
        run = Run(opened, info, owner=True, flush_interval=flush_interval)
    try:
        if capture and run.owner:
            capture_start(opened, info.pk)
        if params:
            run.log_params(params)
        if tags:
            run.set_tags(tags)
    except BaseException:
        run.close("failed" if run.owner else None)
        raise
    if system_metrics:
        run._sampler = SystemSampler(run.log_metric, system_metrics).start()
    return run

