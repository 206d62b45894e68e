"""``reproduce --run``'s verdict: what the re-run pipeline produced against the recorded version.

Compared: the artifacts file by file (by stored id: the tree the run produced, from the files
its ``register_model`` stored, or from ``--output``, against the version's tree), the metrics
(the run's final values against the version's, within a relative tolerance), the
hyperparameters the run logged, and the dataset trees it used. In a reproduction run
``register_model`` registers nothing (``Run.register_model``): it stores the files as the run's
artifact ``model`` and hands back the version being reproduced.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from modelkeep.db.database import Database
from modelkeep.storage.hashing import Progress
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.tree import add_path, read_tree
from modelkeep.tracking import runs
from modelkeep.tracking.artifacts import run_artifacts, store_artifact
from modelkeep.tracking.datasets import run_datasets
from modelkeep.tracking.metrics import final_metrics
from modelkeep.tracking.sysmetrics import SYSTEM_PREFIX

MODEL_ARTIFACT = "model"  # the run artifact a reproduction run's register_model stores


@dataclass(frozen=True)
class Check:
    """One compared item (a file, metric, hyperparameter or dataset): both sides and the verdict."""

    kind: str
    name: str
    recorded: Any
    reproduced: Any
    matches: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


@dataclass(frozen=True)
class ReproduceCheck:
    """The re-run and every comparison; ``drifted`` names what did not reproduce."""

    run_id: str
    status: str
    exit_code: int
    tolerance: float
    recorded_tree: str
    produced_tree: str | None
    checks: tuple[Check, ...]
    problems: tuple[str, ...]
    environment: tuple[str, ...] = ()  # how this environment differs from the recorded one

    @property
    def drifted(self) -> list[str]:
        """A sentence per thing that failed or differs."""
        return [*self.problems, *(_sentence(c) for c in self.checks if not c.matches)]

    @property
    def reproduced(self) -> bool:
        """True when the pipeline succeeded and everything matched."""
        return not self.drifted

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"run_id": self.run_id, "status": self.status, "exit_code": self.exit_code,
                "tolerance": self.tolerance, "recorded_tree": self.recorded_tree,
                "produced_tree": self.produced_tree, "reproduced": self.reproduced,
                "checks": [c.to_dict() for c in self.checks], "drifted": self.drifted,
                "environment": list(self.environment)}


def _sentence(c: Check) -> str:
    if c.reproduced is None:
        return f"{c.kind} {c.name}: recorded {c.recorded}, not reproduced"
    if c.recorded is None:
        return f"{c.kind} {c.name}: new in the reproduction ({c.reproduced})"
    return f"{c.kind} {c.name}: recorded {c.recorded}, reproduced {c.reproduced}"


def reproduction_of(db: Database, run_pk: int) -> str | None:
    """NAME@VERSION when the run is a reproduction (tagged by ``reproduce --run``), else None."""
    return runs.tags_of(db, run_pk).get(runs.REPRODUCES_TAG)


def store_reproduction(db: Database, store: ObjectStore, run: runs.RunInfo, path: Path,
                       progress: Progress | None = None) -> str:
    """What a reproduction run's ``register_model`` does instead of registering: store the
    files as the run's artifact ``model`` (what ``compare_run`` compares); returns a note."""
    stored = store_artifact(db, store, run.pk, path, name=MODEL_ARTIFACT, progress=progress)
    return (f"reproduction run {run.id[:8]}: nothing registered; the files are its artifact "
            f"'{MODEL_ARTIFACT}' (tree {stored['tree_id'][:12]})")


def metric_matches(recorded: float, reproduced: float, tolerance: float) -> bool:
    """Equal within ``tolerance`` relative to the larger magnitude (NaN matches NaN, an
    infinity only itself)."""
    if math.isnan(recorded) or math.isnan(reproduced):
        return math.isnan(recorded) and math.isnan(reproduced)
    if math.isinf(recorded) or math.isinf(reproduced):
        return recorded == reproduced
    return abs(recorded - reproduced) <= tolerance * max(abs(recorded), abs(reproduced))


def environment_notes(recorded: dict[str, Any] | None) -> list[str]:
    """How the environment a re-run uses (this interpreter's) differs from the recorded one:
    not drift in itself, but where to look when something drifted."""
    import platform

    from modelkeep.tracking.environment import installed_packages

    if recorded is None:
        return ["this keep has no environment record of the version's run: the environment "
                "was not compared"]
    notes = []
    was, now = (recorded.get("python") or {}).get("version"), platform.python_version()
    if was and was != now:
        notes.append(f"Python {was} when recorded, {now} now")
    before, here = recorded.get("packages") or {}, installed_packages()
    changed = sorted(k for k in before if here.get(k) != before[k])
    if changed:
        shown = ", ".join(f"{k} {before[k]} -> {here.get(k, 'absent')}" for k in changed[:5])
        notes.append(f"{len(changed)} package(s) differ from the recorded environment: {shown}"
                     + (", ..." if len(changed) > 5 else ""))
    return notes


def produced_tree(db: Database, store: ObjectStore, run_pk: int, output: Path | None) -> str | None:
    """The tree the run produced: ``output`` hashed (and stored), else its ``model`` artifact."""
    if output is not None:
        return add_path(store, output).tree_id if output.exists() else None
    found = [a for a in run_artifacts(db, run_pk) if a["name"] == MODEL_ARTIFACT]
    return found[-1]["tree_id"] if found else None


def file_checks(store: ObjectStore, recorded: str, produced: str) -> list[Check]:
    """Each file of either tree: same id, changed, missing from the reproduction, or new."""
    ours = {e.path: e.oid for e in read_tree(store, recorded)}
    theirs = {e.path: e.oid for e in read_tree(store, produced)}
    return [Check("file", path, ours.get(path), theirs.get(path),
                  ours.get(path) == theirs.get(path))
            for path in sorted(ours.keys() | theirs.keys())]


def compare_run(db: Database, store: ObjectStore, *, meta: dict[str, Any], recorded_tree: str,
                run_id: str, status: str, exit_code: int, tolerance: float,
                output: Path | None = None, environment: dict[str, Any] | None = None
                ) -> ReproduceCheck:
    """Compare run ``run_id`` (just ended with ``status``) with the version's snapshot ``meta``."""
    info = runs.get_run(db, run_id)
    problems: list[str] = []
    if status != "finished":
        problems.append(f"the pipeline {status} (exit {exit_code})")
    produced = produced_tree(db, store, info.pk, output)
    checks: list[Check] = []
    if produced is None:
        problems.append(f"no artifacts to compare: {output} does not exist" if output else
                        "no artifacts to compare: the pipeline registered no model (pass "
                        "--output PATH to compare a folder it writes)")
    else:
        checks += file_checks(store, recorded_tree, produced)
    recorded_metrics = (meta.get("performance") or {}).get("metrics") or {}
    ran = {k: v for k, v in final_metrics(db, info.pk).items() if not k.startswith(SYSTEM_PREFIX)}
    for name in sorted(recorded_metrics):
        want, got = float(recorded_metrics[name]), ran.get(name)
        checks.append(Check("metric", name, want, got,
                            got is not None and metric_matches(want, got, tolerance)))
    params = (meta.get("components") or {}).get("hyperparameters") or {}
    logged = runs.params_of(db, info.pk)
    for name in sorted(params.keys() | logged.keys()):
        checks.append(Check("hyperparameter", name, params.get(name), logged.get(name),
                            params.get(name) == logged.get(name)))
    used = {(d["role"], d["name"]): d["tree"] for d in run_datasets(db, info.pk)}
    for ds in (meta.get("components") or {}).get("datasets") or []:
        key = (ds.get("role"), ds.get("name"))
        checks.append(Check("dataset", f"{key[1]} ({key[0]})", ds.get("tree"), used.get(key),
                            ds.get("tree") == used.get(key)))
    return ReproduceCheck(info.id, status, exit_code, tolerance, recorded_tree, produced,
                          tuple(checks), tuple(problems), tuple(environment_notes(environment)))
