"""A version's changelog entry, written from its difference to the version before it.

The difference is ``registry.diff`` (what ``modelkeep diff`` prints) and the bump reasons are
``registry.changes`` (what the SemVer rules saw); this module only sorts their findings into
the sections a reader looks for: version details, configuration, environment variables,
dependencies, performance, validation, files. The first version's entry lists its starting
values (a difference to nothing).
"""

from __future__ import annotations

import math
from typing import Any

from modelkeep.registry.changes import detect_changes
from modelkeep.registry.diff import FieldChange, VersionDiff
from modelkeep.registry.standards.facts import VersionFacts
from modelkeep.registry.standards.hfcard import validation_rows
from modelkeep.registry.standards.text import format_value, md_inline, size_text

MAX_FILES_LISTED = 20
_DEPENDENCY_KEYS = ("technical.dependencies", "deployment.dependencies_lock")
_IN_DETAILS = ("components.artifacts.size_bytes", "schema_version", "identity.author")


def changelog_entry(facts: VersionFacts, diff: VersionDiff, previous_meta: dict[str, Any] | None,
                    files_compared: bool = True) -> str:
    """The Markdown entry of ``facts.info`` (``diff`` is from the previous version, or from
    nothing when ``previous_meta`` is None)."""
    info = facts.info
    first = facts.previous is None or previous_meta is None
    lines = [f"## {md_inline(info.ref)} ({info.created_at[:10]})", ""]
    if facts.previous is None or previous_meta is None:
        lines.append("First version.")
    else:
        lines.append(f"Changes since {md_inline(facts.previous.version)}.")
        reasons = detect_changes(previous_meta, facts.metadata).reasons
        if reasons:
            lines += ["", "Why this version number:"]
            lines += [f"- {bump}: {md_inline(why)}" for bump, why in reasons]
    lines += _section("Version details", [
        f"author: {md_inline(facts.get('identity', 'author') or info.author)}",
        f"artifacts: {info.files} files, {size_text(info.size)}, tree {info.tree_id}",
        *([f"run: {info.run_id}"] if info.run_id else [])])
    # a map emptied or filled shows as its keys; "nothing -> nothing" says nothing
    changes = [c for c in diff.metadata if not (_unset(c.old) and _unset(c.new))]
    shown_elsewhere = ("deployment.environment.", "performance.", *_DEPENDENCY_KEYS,
                       *_IN_DETAILS, *(("identity.",) if first else ()))
    other = [c for c in changes if not c.key.startswith(shown_elsewhere)
             and not (first and _unset(c.new))]
    lines += _section("Configuration changes",
                      [_change(f"hyperparameter {c.key}", c) for c in diff.params]
                      + [_change(c.key, c) for c in other])
    lines += _section("Environment variables",
                      [_change(c.key.removeprefix("deployment.environment."), c)
                       for c in changes if c.key.startswith("deployment.environment.")])
    lines += _section("Dependencies", [line for c in changes if c.key in _DEPENDENCY_KEYS
                                       for line in _list_change(c)])
    lines += _section("Performance", [_change(c.key, c, delta=True) for c in diff.metrics]
                      + [_change(c.key.removeprefix("performance."), c, delta=True)
                         for c in changes if c.key.startswith("performance.")])
    lines += _section("Validation", [f"{md_inline(date)}: {md_inline(policy)} {outcome}"
                                     + (f" ({md_inline(summary)})" if summary != "-" else "")
                                     for date, policy, outcome, summary in validation_rows(facts)])
    if files_compared and not first:
        lines += _section("Files", _files(diff))
    elif not files_compared:
        lines += _section("Files", ["not compared: the artifacts of one version are not in this keep"])
    return "\n".join(lines).rstrip() + "\n"


def _section(title: str, items: list[str]) -> list[str]:
    return ["", f"### {title}", "", *(f"- {item}" for item in items)] if items else []


def _change(label: str, c: FieldChange, *, delta: bool = False) -> str:
    name = md_inline(label)
    if c.old is None:
        return f"{name}: {md_inline(_shown(c.new))} (new)"
    if c.new is None:
        return f"{name}: removed (was {md_inline(_shown(c.old))})"
    text = f"{name}: {md_inline(_shown(c.old))} → {md_inline(_shown(c.new))}"
    if delta and _number(c.old) and _number(c.new):
        diff = float(c.new) - float(c.old)
        if math.isfinite(diff):
            text += f" ({diff:+.6g})"
    return text


def _unset(value: Any) -> bool:
    """An empty or false field: a first version's entry leaves these out (they are defaults)."""
    return value is None or value is False or value in ([], {}, "")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _shown(value: Any) -> Any:
    if _number(value):
        return value
    if isinstance(value, list) and all(isinstance(v, dict) and "name" in v for v in value):
        return [" ".join(str(v[k]) for k in ("name", "role", "dtype", "shape") if v.get(k) is not None)
                for v in value]  # datasets, signature entries: by name, not every field
    return format_value(value)


def _list_change(c: FieldChange) -> list[str]:
    old = c.old if isinstance(c.old, list) else []
    new = c.new if isinstance(c.new, list) else []
    label = "runtime" if c.key.startswith("technical.") else "pinned"
    return ([f"{label} {md_inline(item)} added" for item in new if item not in old]
            + [f"{label} {md_inline(item)} removed" for item in old if item not in new])


def _files(diff: VersionDiff) -> list[str]:
    items = [f"{len(diff.files_added)} added, {len(diff.files_removed)} removed, "
             f"{len(diff.files_changed)} changed"]
    for mark, paths in (("added", diff.files_added), ("removed", diff.files_removed),
                        ("changed", diff.files_changed)):
        items += [f"{mark}: {md_inline(p)}" for p in paths[:MAX_FILES_LISTED]]
        if len(paths) > MAX_FILES_LISTED:
            items.append(f"... and {len(paths) - MAX_FILES_LISTED} more {mark}")
    return items
