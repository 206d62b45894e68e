"""What ``reproduce`` lays out for a version: its parts, where each goes, and what is missing.

Read from the version's metadata snapshot alone (and the environment record of its run, for
the folder the run worked in), before any object is read: ``reproduce.lay_out`` then checks
the objects are there, places the code snapshot and refuses parts that would overwrite one
another.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from modelkeep.errors import InvalidInputError
from modelkeep.storage.paths import check_restore_path
from modelkeep.tracking.reproduce_docs import lock_text

INFO_DIR = "reproduce"
README = "REPRODUCE.md"
WRITTEN = frozenset({README, INFO_DIR, "code.patch"})  # what reproduce writes itself
TOP_NAMES = WRITTEN | {"code"}  # never a dataset's place


@dataclass(frozen=True)
class Part:
    """One thing laid out: what it is, where it went (relative to DIR), the stored id it came from."""

    what: str
    path: str
    id: str | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


@dataclass(frozen=True)
class Layout:
    """A reproduction folder: its parts, what the version did not record, the entry command."""

    ref: str
    dest: str
    parts: tuple[Part, ...]
    missing: tuple[str, ...]
    command: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"ref": self.ref, "dest": self.dest, "parts": [p.to_dict() for p in self.parts],
                "missing": list(self.missing), "command": list(self.command)}


def plan(meta: dict[str, Any], environment: dict[str, Any] | None) -> tuple[list[Part], list[str]]:
    """The parts a version's snapshot allows, and a sentence for each thing it lacks."""
    parts: list[Part] = []
    missing: list[str] = []
    comps = meta.get("components") or {}
    code = comps.get("code") or {}
    if code.get("snapshot"):
        parts.append(Part("code", "code", code["snapshot"], _git_detail(code)))
    elif code.get("diff") and code.get("commit"):
        parts.append(Part("code patch", "code.patch", code["diff"], _git_detail(code)))
        missing.append("code snapshot: none recorded; code.patch holds the uncommitted diff "
                       f"against Git commit {code['commit']} (git checkout it, then git apply)")
    else:
        where = f" (it names Git commit {code['commit']})" if code.get("commit") else ""
        missing.append(f"code snapshot: the version records none{where}; record one with "
                       "run.log_code() in the training script")
    datasets = comps.get("datasets") or []
    if not datasets:
        missing.append("datasets: the version records none; record them with "
                       "run.log_dataset(path, role=...) in the training script")
    cwd = ((environment or {}).get("command") or {}).get("cwd")
    taken: set[str] = set()
    for ds in datasets:
        label = f"{ds.get('name')} ({ds.get('role')})"
        if not ds.get("tree"):
            missing.append(f"dataset {label}: no tree id recorded")
            continue
        path = _dataset_path(ds, cwd, taken)
        taken.add(path)
        parts.append(Part(f"dataset {ds.get('role')}", path, ds["tree"], label))
    pipeline = comps.get("pipeline") or {}
    if pipeline.get("tree"):
        parts.append(Part("pipeline", ".", pipeline["tree"],
                          ", ".join([*pipeline.get("scripts", []), *pipeline.get("config_files", [])])))
    else:
        missing.append("pipeline files: none recorded (run.log_pipeline(files=[...]) records them)")
    if not pipeline.get("command"):
        missing.append("pipeline command: none recorded")
    elif cwd and (absolute := [a for a in pipeline["command"] if str(a).startswith(cwd + "/")]):
        missing.append(f"pipeline command: it names files in the folder it first ran in "
                       f"({absolute[0]}): run, it would read those, not the ones laid out here")
    parts.append(Part("hyperparameters", f"{INFO_DIR}/params.json",
                      detail=f"{len(comps.get('hyperparameters') or {})} value(s)"))
    lock, source = lock_text(meta, environment)
    if lock is None:
        missing.append(f"requirements lock: {source}")
    else:
        parts.append(Part("requirements lock", f"{INFO_DIR}/requirements.lock", detail=source))
    if environment is not None:
        parts.append(Part("environment", f"{INFO_DIR}/environment.json",
                          detail="the recorded machine, packages and variables"))
    parts.append(Part("metadata", f"{INFO_DIR}/metadata.json", detail="the version's snapshot"))
    return parts, missing


def _git_detail(code: dict[str, Any]) -> str:
    bits = [f"commit {code['commit']}" if code.get("commit") else "",
            f"branch {code['branch']}" if code.get("branch") else "",
            "dirty" if code.get("dirty") else ""]
    return ", ".join(b for b in bits if b)


def _dataset_path(ds: dict[str, Any], cwd: str | None, taken: set[str]) -> str:
    """Where a dataset goes: its recorded path below the run's working folder when it was
    there (so the command finds it), else data/ROLE (data/ROLE/NAME when ROLE is taken)."""
    source = ds.get("source")
    if cwd and source and Path(source).is_relative_to(cwd) and Path(source) != Path(cwd):
        rel = Path(source).relative_to(cwd).as_posix()
        try:
            check_restore_path(rel)
            if rel.split("/")[0] not in TOP_NAMES and rel not in taken:
                return rel
        except InvalidInputError:
            pass
    path = f"data/{ds.get('role')}"
    if path in taken or any(t.startswith(path + "/") for t in taken):
        path = f"{path}/{ds.get('name')}"
    return check_restore_path(path)
