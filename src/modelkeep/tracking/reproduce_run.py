"""``modelkeep reproduce``: lay the version out, and with ``run`` re-run its pipeline and compare.

The re-run goes through ``execute.execute_run`` (what ``run exec`` uses), in the laid-out
folder, as a run of the same model tagged ``reproduces=NAME@VERSION``: a recorded ``python``
program becomes the interpreter modelkeep runs in, and a code snapshot laid out apart in
``code/`` (its files clashed with the pipeline's) goes on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from modelkeep.db.database import Database
from modelkeep.errors import InvalidInputError, RunNotFoundError
from modelkeep.storage.hashing import Progress
from modelkeep.storage.objects import ObjectStore
from modelkeep.tracking import runs
from modelkeep.tracking.environment import shown_environment
from modelkeep.tracking.execute import execute_run
from modelkeep.tracking.reproduce import Fetch, lay_out
from modelkeep.tracking.reproduce_check import ReproduceCheck, compare_run
from modelkeep.tracking.reproduce_docs import is_python
from modelkeep.tracking.reproduce_plan import Layout

DEFAULT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class ReproduceReport:
    """What was laid out, and (with ``--run``) the re-run's verdict."""

    layout: Layout
    check: ReproduceCheck | None = None

    @property
    def exit_code(self) -> int:
        """0 when laid out (and, after a re-run, everything reproduced); 1 when anything drifted."""
        return 0 if self.check is None or self.check.reproduced else 1

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {**self.layout.to_dict(),
                "run": self.check.to_dict() if self.check is not None else None}


def run_environment(db: Database, store: ObjectStore, run_id: str | None) -> dict[str, Any] | None:
    """The environment record of the run that made a version (secrets masked), when this keep
    has the run and the record; None otherwise."""
    if not run_id:
        return None
    try:
        found = runs.get_run(db, run_id).environment_id
    except RunNotFoundError:  # a pulled version: its run lives in another keep
        return None
    if not found or not store.has(found):
        return None
    return shown_environment(json.loads(store.get_bytes(found)))


def rerun_command(ref: str, meta: dict[str, Any]) -> list[str]:
    """The recorded entry command as this machine runs it (``python`` is this interpreter)."""
    recorded = ((meta.get("components") or {}).get("pipeline") or {}).get("command") or []
    if not recorded:
        raise InvalidInputError(f"{ref} records no pipeline command: nothing to run",
                                hint="lay it out without --run and see REPRODUCE.md", ref=ref)
    program, *args = recorded
    return [sys.executable if is_python(program) else program, *args]


@dataclass(frozen=True)
class Workbench:
    """What ``reproduce`` uses of a keep, handed in by it (tracking never imports the keep)."""

    db: Database
    store: ObjectStore
    protected: Sequence[Path]  # the keep's own folders: nothing is laid out in them
    keep_env: dict[str, str]  # the MODELKEEP_* variables that reopen the keep in the re-run
    start_run: Callable[..., Any]  # starts the tracked re-run (Keep.start_run)
    fetch: Fetch | None = None  # fetches missing objects from a remote, when one is configured


def reproduce(keep: Workbench, *, ref: str, name: str, tree_id: str, run_id: str | None,
              meta: dict[str, Any], dest: Path, force: bool = False, strict: bool = False,
              run: bool = False, tolerance: float = DEFAULT_TOLERANCE, output: Path | None = None,
              progress: Progress | None = None, stdout: IO[bytes] | None = None,
              stderr: IO[bytes] | None = None, on_start: Callable[[str], None] | None = None,
              on_layout: Callable[[Layout], None] | None = None) -> ReproduceReport:
    """Lay out version ``ref`` in ``dest``; with ``run``, re-run its pipeline there and compare.
    ``progress`` hears each tree's checkout; ``on_layout``, the layout before the re-run
    starts; ``on_start``, the run's id."""
    if not (tolerance >= 0 and tolerance < float("inf")):
        raise InvalidInputError(f"invalid tolerance {tolerance}: a relative tolerance is a "
                                "finite number >= 0", hint="e.g. --tolerance 1e-6")
    if output is not None and (output.is_absolute() or ".." in output.parts):
        raise InvalidInputError(f"--output {output} must be a path inside the reproduction "
                                "folder", hint="e.g. --output model", path=str(output))
    command = rerun_command(ref, meta) if run else []  # refused before anything is laid out
    environment = run_environment(keep.db, keep.store, run_id)
    layout = lay_out(keep.store, ref=ref, meta=meta, environment=environment, dest=dest,
                     protected=keep.protected, force=force, strict=strict, fetch=keep.fetch,
                     progress=progress)
    if on_layout is not None:
        on_layout(layout)
    if not run:
        return ReproduceReport(layout)
    folder = Path(layout.dest)
    env = {}
    if any(p.what == "code" and p.path == "code" for p in layout.parts):
        env["PYTHONPATH"] = os.pathsep.join(
            [str(folder / "code"), *filter(None, [os.environ.get("PYTHONPATH")])])
    handle = keep.start_run(name, f"reproduce-{ref.split('@', 1)[1]}",
                            tags={runs.REPRODUCES_TAG: ref})  # before the child starts: it reads it
    if on_start is not None:
        on_start(handle.id)
    try:  # what run exec does: the same execute_run, in the laid-out folder
        ran = execute_run(keep.db, handle.info, command, keep_env=keep.keep_env,
                          stdout=stdout, stderr=stderr, cwd=folder, env=env)
    except BaseException:
        handle.close("failed")
        raise
    handle.close(ran.status)
    check = compare_run(keep.db, keep.store, meta=meta, recorded_tree=tree_id, run_id=handle.id,
                        status=ran.status, exit_code=ran.exit_code, tolerance=tolerance,
                        output=folder / output if output is not None else None,
                        environment=environment)
    return ReproduceReport(layout, check)
