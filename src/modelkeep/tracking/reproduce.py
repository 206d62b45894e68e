"""``reproduce``: lay out everything a version was made from, from the keep's stored ids.

From the version's metadata snapshot (and the environment record of the run that made it, when
this keep has it) a folder is laid out::

    DIR/                  the pipeline's files (its tree, as recorded), where its command runs,
                          and the code snapshot beside them (the same folder, when no file of
                          it clashes with another part's; else DIR/code/)
    DIR/data/ROLE/        each dataset tree, verified (or at its recorded path below the run's
                          working folder, so the command finds it where it did)
    DIR/code.patch        the uncommitted diff, when only a Git commit and its diff were recorded
    DIR/reproduce/        params.json, requirements.lock, environment.json, metadata.json
    DIR/REPRODUCE.md      what is where, what is missing, and the command to run

Everything is written into a temporary sibling of DIR and renamed into place at the end, so
a failure leaves nothing half-written; every tree goes through ``storage.checkout`` (verified,
never outside the folder, never into the keep's own folders). What the version does not record
is named in ``Layout.missing`` (and refused with ``strict``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from modelkeep.errors import (
    ConflictError,
    InvalidInputError,
    ObjectNotFoundError,
    ReproductionIncompleteError,
    UnsafePathError,
)
from modelkeep.storage.checkout import checkout
from modelkeep.storage.hashing import Progress
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.paths import Destination, is_reserved_name, is_within
from modelkeep.storage.tree import read_tree
from modelkeep.tracking.reproduce_docs import lock_text, readme_text
from modelkeep.tracking.reproduce_plan import INFO_DIR, README, WRITTEN, Layout, Part, plan

# fetches missing objects: (tree ids, blob ids) -> None; None when no remote is configured
Fetch = Callable[[list[str], list[str]], None]


def lay_out(store: ObjectStore, *, ref: str, meta: dict[str, Any],
            environment: dict[str, Any] | None, dest: Path, protected: Sequence[Path],
            force: bool = False, strict: bool = False, fetch: Fetch | None = None,
            progress: Progress | None = None) -> Layout:
    """Lay out ``ref``'s reproduction in ``dest`` (see the module docstring) and describe it."""
    dest = _check_dest(Path(os.path.abspath(dest)), force, protected)
    parts, missing = plan(meta, environment)
    if strict and missing:
        raise ReproductionIncompleteError(
            f"{ref} cannot be reproduced in full: " + "; ".join(missing), ref=ref,
            missing=missing, hint="lay out what there is without --strict, or record the "
            "missing parts in the training script and register again")
    _ensure_objects(store, ref, _trees(parts), [p for p in parts if p.what == "code patch"],
                    fetch)
    parts = _place_code(store, parts)
    _check_collisions(store, parts)  # code/ or not, the other parts must agree
    command = tuple((meta.get("components") or {}).get("pipeline", {}).get("command") or ())
    layout = Layout(ref, str(dest), tuple(parts), tuple(missing), command)
    dest.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{dest.name}.reproduce-", dir=dest.parent))
    try:
        os.chmod(stage, 0o777 & ~_umask())  # mkdtemp's 0700 is for a temporary folder
        Destination(stage, protected=protected).close()  # refuses the keep's own folders
        for part in _trees(parts):
            checkout(store, part.id or "", stage / part.path, root=stage, protected=protected,
                     progress=progress)
        _write_info(store, stage, meta, environment, parts, layout)
        _replace(stage, dest)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return layout


def _trees(parts: list[Part]) -> list[Part]:
    """The parts that are stored trees (checked out), as opposed to written files."""
    return [p for p in parts if p.id and p.what != "code patch"]


def _check_dest(dest: Path, force: bool, protected: Sequence[Path]) -> Path:
    """``dest`` with its parent's symlinks resolved, once it is known to be a place to lay out
    in: not a .git or .modelkeep folder, not in the keep's own folders, new or empty."""
    real = Path(os.path.realpath(dest.parent)) / dest.name
    bad = [part for part in real.parts if is_reserved_name(part)]
    inside = [p for p in protected if is_within(str(real), os.path.realpath(p))]
    if bad or inside:
        why = f"'{bad[0]}' is a .git or .modelkeep folder" if bad else "it is in the keep's own folders"
        shown = f"{dest} (really {real})" if real != dest else str(dest)
        raise UnsafePathError(f"cannot reproduce into {shown}: {why}", path=str(dest),
                              hint="choose a folder outside the keep's own folders")
    if real.is_symlink() or (real.exists() and not real.is_dir()):
        raise InvalidInputError(f"{dest} is not a folder", hint="give a new or empty folder",
                                path=str(dest))
    if real.is_dir() and any(real.iterdir()):
        if not force:
            raise ConflictError(f"{dest} is not empty: reproduce lays out a new folder",
                                hint="give a new or empty folder, or --force to replace its "
                                "contents", path=str(dest))
        # --force replaces what is there, but never the keep itself nor a Git work tree
        holds = [p for p in protected if is_within(os.path.realpath(p), str(real))]
        if holds or any(is_reserved_name(e.name) for e in real.iterdir()):
            what = "the keep's own folders" if holds else "a .git or .modelkeep folder"
            raise ConflictError(f"{dest} holds {what}: --force never replaces it",
                                hint="give a new or empty folder", path=str(dest))
    return real


def _ensure_objects(store: ObjectStore, ref: str, trees: list[Part], blobs: list[Part],
                    fetch: Fetch | None) -> None:
    """Every object the layout needs is here, fetched from the remote when one is configured."""
    lacking = [p for p in trees if not _complete(store, p.id or "")]
    lacking += [p for p in blobs if not store.has(p.id or "")]
    if not lacking:
        return
    named = ", ".join(f"{p.what} ({(p.id or '')[:12]})" for p in lacking)
    if fetch is None:
        raise ObjectNotFoundError(
            f"the {named} of {ref} is not in this keep and no remote is configured",
            hint="add a remote that has it (modelkeep remote add NAME URL) and run again",
            ref=ref, objects=[p.id for p in lacking])
    try:
        fetch([p.id or "" for p in lacking if p in trees],
              [p.id or "" for p in lacking if p in blobs])
    except ObjectNotFoundError as exc:
        raise ObjectNotFoundError(
            f"the {named} of {ref} is neither in this keep nor on the remote ({exc.message})",
            hint="push it from the keep that made the version", ref=ref,
            objects=[p.id for p in lacking]) from None


def _complete(store: ObjectStore, tree_id: str) -> bool:
    """True when the tree and every object below it are in the store."""
    from modelkeep.storage.reachable import reachable_objects

    try:
        needed = reachable_objects(store, [tree_id])
    except ObjectNotFoundError:  # the tree or a manifest itself
        return False
    return len(store.has_many(needed)) == len(needed)


def _place_code(store: ObjectStore, parts: list[Part]) -> list[Part]:
    """The code snapshot goes to DIR's top, beside the pipeline's files and the datasets, so
    the command finds its modules where it did; only when one of its files would clash with
    another part's (same path, other bytes) does it stay in ``code/`` (put on PYTHONPATH)."""
    top = [replace(p, path=".") if p.what == "code" else p for p in parts]
    try:
        _check_collisions(store, top)
    except InvalidInputError:
        return parts
    return top


def _check_collisions(store: ObjectStore, parts: list[Part]) -> None:
    """Trees laid out over one another must agree on every file they share (the same path
    with other bytes is refused), and none may name a file reproduce writes itself."""
    seen: dict[str, tuple[str, str]] = {}  # path -> (file id, part)
    for part in _trees(parts):
        prefix = "" if part.path == "." else part.path + "/"
        for entry in read_tree(store, part.id or ""):
            path = prefix + entry.path
            first = seen.setdefault(path, (entry.oid, part.what))
            clash = first[1] if first[0] != entry.oid else None
            if path.split("/")[0] in WRITTEN:
                clash = "reproduce"
            if clash:
                raise InvalidInputError(
                    f"cannot lay out {part.what}: its file '{path}' would land where "
                    f"{clash} puts another file", hint="rename that file in the training "
                    "project and register again", path=path)


def _write_info(store: ObjectStore, stage: Path, meta: dict[str, Any],
                environment: dict[str, Any] | None, parts: list[Part], layout: Layout) -> None:
    info = stage / INFO_DIR
    info.mkdir(exist_ok=True)
    comps = meta.get("components") or {}
    _write_json(info / "params.json", comps.get("hyperparameters") or {})
    _write_json(info / "metadata.json", meta)
    if environment is not None:
        _write_json(info / "environment.json", environment)
    lock, _ = lock_text(meta, environment)
    if lock is not None:
        (info / "requirements.lock").write_text(lock, encoding="utf-8")
    patch = next((p for p in parts if p.what == "code patch"), None)
    if patch is not None:
        (stage / "code.patch").write_bytes(store.get_bytes(patch.id or ""))
    (stage / README).write_text(readme_text(layout, meta, environment), encoding="utf-8")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, allow_nan=True) + "\n",
                    encoding="utf-8")


def _replace(stage: Path, dest: Path) -> None:
    """Put the laid-out stage where ``dest`` is: an empty or missing ``dest`` is replaced in
    one rename; a non-empty one (``--force``) is moved aside first and removed after."""
    if dest.is_dir() and any(dest.iterdir()):
        aside = Path(tempfile.mkdtemp(prefix=f".{dest.name}.replaced-", dir=dest.parent))
        os.rename(dest, aside / "old")
        os.rename(stage, dest)
        shutil.rmtree(aside, ignore_errors=True)
        return
    os.replace(stage, dest)
