"""What the machine and process looked like when a run started.

Captured: Python, OS, CPU model and cores, RAM, GPUs (``nvidia-smi``, when present), every
installed distribution and its version, the versions of the ML frameworks the process has
imported, the command line, and an allow-listed set of environment variables. A variable is
kept only if its name is on the allow list (CUDA, threading, distributed-training, Hugging
Face, locale, ...); one whose name says it is a secret (a word such as KEY, TOKEN, SECRET, PASS,
PW, AUTH, CREDENTIAL or PRIVATE: ``redact.is_secret_name``) keeps its name, never its value;
URL passwords in values and the values of secret options on the command line are masked too.

The machine facts and the package list do not change while a process lives, so they are read
once per process; the rest is read at every call.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from functools import cache
from typing import Any

from modelkeep.redact import redact_argv, redact_env

# module imported -> distribution name, for the frameworks worth naming
FRAMEWORKS: dict[str, str] = {
    "torch": "torch", "tensorflow": "tensorflow", "jax": "jax", "flax": "flax", "keras": "keras",
    "sklearn": "scikit-learn", "xgboost": "xgboost", "lightgbm": "lightgbm",
    "catboost": "catboost", "transformers": "transformers", "datasets": "datasets",
    "tokenizers": "tokenizers", "accelerate": "accelerate", "deepspeed": "deepspeed",
    "peft": "peft", "diffusers": "diffusers", "lightning": "lightning",
    "pytorch_lightning": "pytorch-lightning", "onnx": "onnx", "onnxruntime": "onnxruntime",
    "safetensors": "safetensors", "numpy": "numpy", "pandas": "pandas", "scipy": "scipy",
    "mlx": "mlx", "paddle": "paddlepaddle", "statsmodels": "statsmodels",
}
ENV_ALLOW_PREFIXES = (
    "CUDA_", "CUDNN_", "CUBLAS_", "NCCL_", "NVIDIA_", "OMP_", "MKL_", "OPENBLAS_", "KMP_",
    "NUMEXPR_", "TORCH_", "PYTORCH_", "TF_", "XLA_", "JAX_", "HF_", "TRANSFORMERS_",
    "TOKENIZERS_", "ACCELERATE_", "DEEPSPEED_", "SLURM_", "MODELKEEP_", "LC_",
)
ENV_ALLOW_NAMES = frozenset({
    "PYTHONHASHSEED", "PYTHONOPTIMIZE", "VIRTUAL_ENV", "CONDA_DEFAULT_ENV", "LANG", "TZ",
    "WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "NODE_RANK", "MASTER_ADDR",
    "MASTER_PORT", "CUBLAS_WORKSPACE_CONFIG",
})


def allowed_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment variables worth recording (allow-listed names), secrets masked."""
    source = os.environ if environ is None else environ
    return redact_env({name: value for name, value in sorted(source.items())
                       if name in ENV_ALLOW_NAMES or name.startswith(ENV_ALLOW_PREFIXES)})


def imported_frameworks() -> dict[str, str]:
    """name -> version of the ML frameworks this process has imported so far."""
    found = {}
    for module, dist in FRAMEWORKS.items():
        mod = sys.modules.get(module)
        if mod is None:
            continue
        version = getattr(mod, "__version__", None)
        if not isinstance(version, str):
            version = _dist_version(dist)
        found[dist] = str(version or "unknown")
    return found


def _dist_version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


@cache
def installed_packages() -> dict[str, str]:
    """Every installed distribution -> version (read once per process)."""
    from importlib.metadata import distributions

    found: dict[str, str] = {}
    for dist in distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(str(name).lower(), str(dist.version))
    return dict(sorted(found.items()))


def cpu_model() -> str:
    """The CPU's marketing name (``model name`` in /proc/cpuinfo where there is one)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(("model name", "Hardware", "Processor")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpus() -> list[dict[str, Any]]:
    """GPUs listed by ``nvidia-smi`` (name, memory, driver); [] when there is none."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=index,name,memory.total,driver_version",
             "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    found = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 4:
            memory = int(parts[2]) * 2**20 if parts[2].isdigit() else None
            found.append({"index": int(parts[0]) if parts[0].isdigit() else parts[0],
                          "name": parts[1], "memory_bytes": memory, "driver": parts[3]})
    return found


@cache
def machine() -> dict[str, Any]:
    """Python, OS, CPU, RAM and GPUs of this machine (read once per process)."""
    import psutil

    return {
        "python": {"version": platform.python_version(),
                   "implementation": platform.python_implementation(),
                   "executable": sys.executable},
        "os": {"system": platform.system(), "release": platform.release(),
               "platform": platform.platform(), "machine": platform.machine()},
        "cpu": {"model": cpu_model(), "logical_cores": os.cpu_count(),
                "physical_cores": psutil.cpu_count(logical=False)},
        "ram_bytes": psutil.virtual_memory().total,
        "gpus": gpus(),
        "host": platform.node(),
    }


def capture_environment(*, packages: bool = True) -> dict[str, Any]:
    """The whole environment record of this process, as JSON-ready data."""
    return {
        **machine(),
        "packages": installed_packages() if packages else {},
        "frameworks": imported_frameworks(),
        "command": {"argv": redact_argv(sys.argv), "executable": sys.executable,
                    "cwd": os.getcwd()},
        "env": allowed_env(),
    }


def shown_environment(env: dict[str, Any]) -> dict[str, Any]:
    """A recorded environment with its secrets masked, even one captured before modelkeep
    masked them (its variables and command line)."""
    shown = dict(env)
    if isinstance(shown.get("env"), dict):
        shown["env"] = redact_env(shown["env"])
    command = shown.get("command")
    if isinstance(command, dict) and isinstance(command.get("argv"), list):
        shown["command"] = {**command, "argv": redact_argv(command["argv"])}
    return shown


def encode_environment(env: dict[str, Any]) -> bytes:
    """Canonical JSON bytes (equal environments give one object in the store)."""
    return json.dumps(env, sort_keys=True, separators=(",", ":"), default=str).encode()
