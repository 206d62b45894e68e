"""What a run records about the process that starts it, and about the processes that join it.

At start: the environment record (stored as one object), the Git state, the command line and
the ML frameworks imported so far. When any process closes its handle on a run, the
frameworks it imported by then are merged in. ``register_model`` names the main framework in
the version's technical metadata.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelkeep.db.database import Database
from modelkeep.redact import redact_argv
from modelkeep.tracking import environment, runs

if TYPE_CHECKING:
    from modelkeep.storage.objects import ObjectStore
    from modelkeep.tracking.git import GitState


def launch_command() -> list[str]:
    """The command line that started this process, as an argument vector (secrets masked)."""
    argv = redact_argv(sys.argv)
    if argv and argv[0].endswith(".py"):
        return [Path(sys.executable).name, *argv]
    return argv


def framework_metadata(model: str) -> Any:
    """Metadata naming the ML framework the process imported (None when there is none)."""
    found = environment.imported_frameworks()
    order = ("torch", "tensorflow", "jax", "keras", "scikit-learn", "xgboost", "lightgbm",
             "catboost", "onnxruntime")
    main = next((f for f in order if f in found), None)
    if main is None:
        return None
    from modelkeep.schema.metadata import ModelMetadata

    return ModelMetadata.model_validate({
        "identity": {"name": model, "version": "0.0.0"},
        "technical": {"framework": {"name": main, "version": found[main]},
                      "dependencies": [f"{k}=={v}" for k, v in sorted(found.items())]},
    })


def new_frameworks(db: Database, run_pk: int) -> dict[str, str] | None:
    """The run's frameworks merged with those this process imported, or None if nothing is new."""
    found = environment.imported_frameworks()
    known = runs.json_field(db, run_pk, "frameworks_json") or {}
    if set(found.items()) <= set(known.items()):
        return None
    return {**known, **found}


def capture_start(db: Database, store: ObjectStore, pk: int, *, packages: bool = True) -> None:
    """Record the environment, Git state and command line of the process starting a run.

    What a process captured is reused by its later runs (a sweep starts hundreds): the
    environment record is rebuilt every time (variables and imports may change between runs)
    but stored only when it differs from one this process already stored; the Git state is
    read once per process, keep and working folder (the code a process runs was loaded when it
    started; ``Run.log_code`` records the state at any later moment).
    """
    env = environment.capture_environment(packages=packages)
    env_id = _environment_id(store, environment.encode_environment(env))
    state = _git_state(store)
    with db.write():  # one transaction for what was captured
        runs.set_run_columns(db, pk, environment_id=env_id)
        if state is not None:
            runs.set_json_field(db, pk, "code_json", state.to_code())
        runs.set_json_field(db, pk, "command_json", launch_command())
        runs.set_json_field(db, pk, "frameworks_json", env["frameworks"])


_MAX_REMEMBERED = 64  # distinct environment records / folders one process remembers
_env_ids: dict[tuple[str, bytes], str] = {}  # (store, record bytes) -> object id
_git_states: dict[tuple[str, str], GitState | None] = {}  # (store, cwd) -> state read there


def _environment_id(store: ObjectStore, record: bytes) -> str:
    """Store an environment record unless this process already stored the same bytes and the
    object is still there (freshened, so gc's grace period protects it until the run row names
    it); returns its id."""
    key = (str(store.root), record)
    oid = _env_ids.get(key)
    if oid is None or not store.freshen(oid):
        oid = store.put_bytes(record)
        _remember(_env_ids, key, oid)
    return oid


def _git_state(store: ObjectStore) -> GitState | None:
    """The Git state of the working folder, read at this process's first run there."""
    from modelkeep.tracking.git import capture_git

    key = (str(store.root), os.getcwd())
    if key in _git_states:
        state = _git_states[key]
        if state is None or state.diff is None or store.freshen(state.diff):
            return state
    state = capture_git(store)
    _remember(_git_states, key, state)
    return state


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= _MAX_REMEMBERED:
        cache.clear()
    cache[key] = value
