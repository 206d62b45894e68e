"""Python environments for versions whose dependencies the gateway's own do not meet.

``needs_own_env(lock)`` says whether the gateway's installed packages meet a version's
requirements; when they do not, ``build_env`` makes a virtual environment with uv
(``uv venv`` on the gateway's own Python, then ``uv pip install -r`` the lock) in
``.modelkeep/envs/HASH/venv``, HASH being the lock's hash (``registry/dependency_lock.py``),
so two versions with one lock share one environment and a rebuild never happens twice. A file
lock serialises builds of one HASH across gateway processes; ``ready.json`` is written last,
so a build cut short is redone. uv reads its own settings from the environment
(``UV_INDEX_URL``, ``UV_FIND_LINKS``, ``UV_NO_INDEX``, ``UV_OFFLINE``, ``UV_CACHE_DIR``).
A failure raises ``EnvBuildError`` with uv's own words and caches nothing.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from importlib import metadata as importlib_metadata
from pathlib import Path

from modelkeep.clock import now_iso
from modelkeep.errors import EnvBuildError
from modelkeep.registry.dependency_lock import lock_hash

BUILD_TIMEOUT = 900.0  # seconds uv may take to build one environment
READY = "ready.json"


def needs_own_env(lock: Iterable[str]) -> bool:
    """Whether some requirement of ``lock`` is not met by the packages installed here (a line
    that is not a valid requirement is not met: uv will say what is wrong with it)."""
    from packaging.requirements import InvalidRequirement, Requirement

    for line in lock:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            return True
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            installed = importlib_metadata.version(requirement.name)
        except importlib_metadata.PackageNotFoundError:
            return True
        if not requirement.specifier.contains(installed, prereleases=True):
            return True
    return False


def uv_binary() -> str:
    """The uv executable (the ``uv`` package of the gateway extra, else one on PATH)."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise EnvBuildError("uv is not installed, so the environments of versions whose dependencies "
                        "differ from the gateway's cannot be built",
                        hint="pip install 'modelkeep[gateway]'")


def env_python(env_dir: Path) -> Path:
    """The interpreter of the environment in ``env_dir``."""
    return env_dir / "venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def build_env(envs_dir: Path, lock: tuple[str, ...], *, ref: str = "") -> Path:
    """The interpreter of ``lock``'s environment, built first unless it is (``EnvBuildError``
    with uv's message when it cannot be)."""
    env_dir = envs_dir / lock_hash(lock)
    if (env_dir / READY).exists():
        return env_python(env_dir)
    env_dir.mkdir(parents=True, exist_ok=True)
    with open(env_dir.with_name(env_dir.name + ".lock"), "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)  # another gateway building it: wait, then reuse it
        if not (env_dir / READY).exists():
            _build(env_dir, lock, ref)
    return env_python(env_dir)


def _build(env_dir: Path, lock: tuple[str, ...], ref: str) -> None:
    venv = env_dir / "venv"
    shutil.rmtree(venv, ignore_errors=True)  # a build cut short
    requirements = env_dir / "requirements.txt"
    requirements.write_text("".join(f"{line}\n" for line in lock))
    uv = uv_binary()
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "VIRTUAL_ENV": ""}
    started = time.monotonic()
    steps = ([uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
             [uv, "pip", "install", "--quiet", "--python", str(env_python(env_dir)),
              "-r", str(requirements)])
    for argv in steps:
        try:
            done = subprocess.run(argv, env=env, capture_output=True, text=True,
                                  timeout=BUILD_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            shutil.rmtree(venv, ignore_errors=True)
            raise EnvBuildError(f"building the environment of {ref or env_dir.name} took over "
                                f"{BUILD_TIMEOUT:g} s", ref=ref, env=env_dir.name) from None
        if done.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            raise EnvBuildError(f"cannot build the environment of {ref or env_dir.name}: "
                                f"{_last_words(done.stderr or done.stdout)}",
                                ref=ref, env=env_dir.name)
    ready = {"lock": list(lock), "python": sys.version.split()[0], "built": now_iso(),
             "seconds": round(time.monotonic() - started, 3)}
    (env_dir / READY).write_text(json.dumps(ready, indent=2) + "\n")


def _last_words(text: str, limit: int = 600) -> str:
    """uv's message, on one line (its last lines say what went wrong)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    said = " ".join(lines[-6:]) or "uv failed without a message"
    return said if len(said) <= limit else "..." + said[-limit:]
