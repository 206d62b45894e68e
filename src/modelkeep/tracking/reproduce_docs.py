"""The texts ``reproduce`` writes: the requirements lock and REPRODUCE.md.

The lock comes from the best record there is, in this order: the version's own
``deployment.dependencies_lock``; the packages installed when its run started (the run's
environment record, when this keep has it); ``technical.dependencies`` (a partial list, said
so in the file). With none of them the lock is missing, and REPRODUCE.md says so.
"""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelkeep.tracking.reproduce_plan import Layout

_PYTHON = re.compile(r"python(\d+(\.\d+)?)?(\.exe)?")


def is_python(program: str) -> bool:
    """True when a recorded command's program is a Python interpreter by name (``python3.11``)."""
    return bool(_PYTHON.fullmatch(program.rsplit("/", 1)[-1]))


def _python_line(environment: dict[str, Any] | None) -> str:
    python = (environment or {}).get("python") or {}
    system = (environment or {}).get("os") or {}
    if not python.get("version"):
        return ""
    return (f"# recorded with {python.get('implementation', 'Python')} {python['version']} "
            f"on {system.get('system', '?')} {system.get('machine', '')}".rstrip() + "\n")


def lock_text(meta: dict[str, Any], environment: dict[str, Any] | None) -> tuple[str | None, str]:
    """(requirements.lock text or None, where it came from or why there is none)."""
    deployment = meta.get("deployment") or {}
    technical = meta.get("technical") or {}
    packages = (environment or {}).get("packages") or {}
    if deployment.get("dependencies_lock"):
        lines, source = list(deployment["dependencies_lock"]), "the version's dependencies lock"
    elif packages:
        lines = [f"{name}=={version}" for name, version in sorted(packages.items())]
        source = "the packages installed when the version's run started"
    elif technical.get("dependencies"):
        lines = list(technical["dependencies"])
        source = "technical.dependencies (a partial list, not a full lock)"
    else:
        return None, ("the version records no dependencies lock nor dependencies, and this keep "
                      "has no environment record of its run")
    header = f"# requirements of {meta.get('identity', {}).get('id', '?')}: from {source}\n"
    return header + _python_line(environment) + "\n".join(lines) + "\n", source


def shown_command(command: tuple[str, ...] | list[str]) -> str:
    """The entry command as a shell line."""
    return " ".join(shlex.quote(c) for c in command)


def readme_text(layout: Layout, meta: dict[str, Any], environment: dict[str, Any] | None) -> str:
    """REPRODUCE.md: what is where (with stored ids), what is missing, how to run it."""
    name = (meta.get("identity") or {}).get("name", "MODEL")
    lines = [f"# Reproducing {layout.ref}", "",
             f"Laid out by `modelkeep reproduce {layout.ref}` from the keep's stored ids; every "
             "tree was checked out verified (each file re-hashed as it was written).", "",
             "| what | where | stored id | detail |", "|---|---|---|---|"]
    for part in layout.parts:
        lines.append(f"| {part.what} | `{part.path}` | {f'`{part.id}`' if part.id else '-'} | "
                     f"{part.detail.replace('|', '/') or '-'} |")
    lines.append("")
    if layout.missing:
        lines += ["## Missing", "", "The version does not record everything:", ""]
        lines += [f"- {m}" for m in layout.missing]
        lines.append("")
    lines += ["## Run it", ""]
    if layout.command:
        command = shown_command(layout.command)
        lock = any(p.what == "requirements lock" for p in layout.parts)
        lines += ["In this folder: the pipeline's files and datasets are laid out here as "
                  "they were where the command first ran. The `reproduces` tag makes the "
                  "training script's `register_model` register nothing (its files become the "
                  "run's artifact `model`).", "", "```sh"]
        if lock:
            lines.append("python -m pip install -r reproduce/requirements.lock")
        if any(p.what == "code" and p.path == "code" for p in layout.parts):
            lines.append("export PYTHONPATH=\"$PWD/code${PYTHONPATH:+:$PYTHONPATH}\"")
        lines += [f"modelkeep run exec --model {name} --tag reproduces={layout.ref} -- {command}",
                  "```", "",
                  f"or let modelkeep do it and compare: `modelkeep reproduce {layout.ref} DIR "
                  "--run` re-runs the command as a tracked run (a `python` program is the "
                  "interpreter modelkeep runs in) and reports "
                  "which artifacts and metrics match the recorded version and which drifted."]
        if "***" in command:
            lines += ["", "A secret in the command was masked (`***`) when it was recorded: "
                      "put it back before running."]
    else:
        lines.append("The version records no entry command: see the pipeline files above.")
    python = _python_line(environment).lstrip("# ").strip()
    if python:
        lines += ["", f"The version was {python}."]
    return "\n".join(lines) + "\n"
