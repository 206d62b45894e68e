"""What a run records about the process that starts it, and about the processes that join it.

At start: the environment record (stored as one object), the Git state, the command line and
the ML frameworks imported so far. When any process closes its handle on a run, the
frameworks it imported by then are merged in. ``register_model`` names the main framework in
the version's technical metadata.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelkeep.db.database import Database
from modelkeep.redact import redact_argv
from modelkeep.tracking import environment, runs

if TYPE_CHECKING:
    from modelkeep.keep import Keep


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


def capture_start(keep: Keep, pk: int, *, packages: bool = True) -> None:
    """Record the environment, Git state and command line of the process starting a run."""
    from modelkeep.tracking.git import capture_git

    env = environment.capture_environment(packages=packages)
    env_id = keep.store.put_bytes(environment.encode_environment(env))
    state = capture_git(keep.store)
    with keep.db.write():  # one transaction for what was captured
        runs.set_run_columns(keep.db, pk, environment_id=env_id)
        if state is not None:
            runs.set_json_field(keep.db, pk, "code_json", state.to_code())
        runs.set_json_field(keep.db, pk, "command_json", launch_command())
        runs.set_json_field(keep.db, pk, "frameworks_json", env["frameworks"])
