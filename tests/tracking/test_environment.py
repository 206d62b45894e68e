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
                    "SLURM_JOB_ID": "42", "MASTER_ADDR": "https://user:***@host:1234",
                    "HF_TOKEN": "***", "MODELKEEP_DB_PASSWORD": "***", "TORCH_AUTH_HEADER": "***",
                    "TF_api_key": "***"}


def test_capture_masks_every_secret_spelling(keep: Keep, monkeypatch) -> None:
    planted = {"NCCL_SOCKET_PASS": "SECRET-1", "TORCH_HUB_PW": "SECRET-2",
               "CUDA_PRIVATE": "SECRET-3", "HF_HUB_TOKEN": "SECRET-4",
               "MASTER_ADDR": "tcp://rdv:SECRET-5/x@y@10.0.0.1:29500",
               "NCCL_DEBUG": "INFO", "MODELKEEP_AUTHOR": "ada"}
    for name, value in planted.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", ["train.py", "--hf-token", "SECRET-6", "--lr", "0.1",
                                      "--db=postgresql://u:SECRET-7@h/d"])
    with keep.start_run("m") as run:
        pass
    view = keep.run_view(run.id)
    raw = keep.store.get_bytes(view["environment_id"])
    assert b"SECRET" not in raw and "SECRET" not in json.dumps(view.to_dict())
    env = view["environment"]["env"]
    assert env["NCCL_SOCKET_PASS"] == env["TORCH_HUB_PW"] == env["CUDA_PRIVATE"] == "***"
    assert env["MASTER_ADDR"] == "tcp://rdv:***@10.0.0.1:29500"
    assert env["NCCL_DEBUG"] == "INFO" and env["MODELKEEP_AUTHOR"] == "ada"
    assert view["environment"]["command"]["argv"] == [
        "train.py", "--hf-token", "***", "--lr", "0.1", "--db=postgresql://u:***@h/d"]
    assert view["command"][-5:] == ["--hf-token", "***", "--lr", "0.1",
                                    "--db=postgresql://u:***@h/d"]


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
    assert env["env"]["CUDA_VISIBLE_DEVICES"] == "3" and env["env"]["HF_TOKEN"] == "***"
    raw = keep.store.get_bytes(view["environment_id"])
    assert b"hf_do_not_store" not in raw
    assert view["command"] and view["frameworks"]["numpy"]
