"""Environment capture: machine facts, packages, frameworks, and never a secret."""

from __future__ import annotations

import json
import sys

from modelkeep.keep import Keep
from modelkeep.tracking.environment import (
    allowed_env,
    capture_environment,
    imported_frameworks,
    installed_packages,
)


def test_secrets_are_never_recorded() -> None:
    environ = {
        "CUDA_VISIBLE_DEVICES": "0,1", "OMP_NUM_THREADS": "4", "HF_HOME": "/cache",
        "HF_TOKEN": "hf_secret", "WANDB_API_KEY": "k", "AWS_SECRET_ACCESS_KEY": "s",
        "MODELKEEP_DB_PASSWORD": "p", "TORCH_AUTH_HEADER": "Bearer x", "HOME": "/root",
        "RANDOM_VAR": "x", "SLURM_JOB_ID": "42", "TF_api_key": "lower",
        "MASTER_ADDR": "https://user:pw@host:1234",
    }
    kept = allowed_env(environ)
    assert kept == {"CUDA_VISIBLE_DEVICES": "0,1", "HF_HOME": "/cache", "OMP_NUM_THREADS": "4",
                    "SLURM_JOB_ID": "42", "MASTER_ADDR": "https://host:1234"}


def test_capture_has_the_machine_and_process() -> None:
    env = capture_environment()
    assert env["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert env["cpu"]["logical_cores"] >= 1 and env["cpu"]["model"]
    assert env["ram_bytes"] > 0
    assert isinstance(env["gpus"], list)
    assert env["packages"]["pydantic"] == installed_packages()["pydantic"]
    assert env["command"]["argv"] == sys.argv
    json.dumps(env)  # JSON-ready


def test_imported_frameworks_are_named_with_versions() -> None:
    import numpy

    assert imported_frameworks()["numpy"] == numpy.__version__


def test_run_records_environment_without_secrets(keep: Keep, monkeypatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_do_not_store")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    with keep.start_run("m") as run:
        pass
    view = keep.run_view(run.id)
    env = view["environment"]
    assert env["env"]["CUDA_VISIBLE_DEVICES"] == "3" and "HF_TOKEN" not in env["env"]
    raw = keep.store.get_bytes(view["environment_id"])
    assert b"hf_do_not_store" not in raw
    assert view["command"] and view["frameworks"]["numpy"]
