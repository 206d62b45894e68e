"""What a version needs to run, as a gateway reads it: its dependency lock and where to build it.

A version's requirements are its metadata's ``deployment.dependencies_lock`` (pinned
``name==version`` lines), else its ``technical.dependencies`` (PEP 508 requirements). A gateway
runs the version in its own process when these are not met by the gateway's own installed
packages (``gateway/envs.py`` builds the environment with uv, cached by the lock's hash).
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_OURS = re.compile(r"\s*modelkeep\s*(?:$|[=<>!~;\[@ (])", re.IGNORECASE)


@dataclass(frozen=True)
class ServingNeeds:
    """Version ``ref``'s requirements (``lock``; empty: none declared), where built
    environments are cached (``envs_dir``), and the variables that make a worker process open
    the same keep (``reopen_env``)."""

    ref: str
    lock: tuple[str, ...]
    envs_dir: str
    reopen_env: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "lock": list(self.lock), "envs_dir": self.envs_dir,
                "reopen_env": dict(self.reopen_env)}


def lock_of(metadata: Mapping[str, Any]) -> tuple[str, ...]:
    """A version's requirements: its dependency lock, else its declared dependencies, less
    modelkeep itself (a lock taken with ``pip freeze`` names it; the worker runs the gateway's
    own modelkeep, which speaks the gateway's protocol)."""
    deployment = metadata.get("deployment") or {}
    technical = metadata.get("technical") or {}
    lines = deployment.get("dependencies_lock") or technical.get("dependencies") or []
    return tuple(sorted({str(line).strip() for line in lines
                         if str(line).strip() and not _OURS.match(str(line))}))


def lock_hash(lock: tuple[str, ...], python: str | None = None) -> str:
    """The name of the environment ``lock`` builds: a hash of its lines and the Python it runs
    on (an environment is tied to its interpreter's version)."""
    python = python or "{}-{}.{}".format(sys.implementation.name, *sys.version_info[:2])
    text = "\n".join([python, *sorted(lock)])
    return hashlib.sha256(text.encode()).hexdigest()[:32]
