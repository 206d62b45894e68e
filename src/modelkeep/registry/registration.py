"""Registering a version: validate everything first, store the artifacts, then record the version.

Order matters for "nothing half-written": all input is checked before a byte is stored; objects
are stored before the version row that references them is committed, so a crash leaves at
most unreferenced objects (``modelkeep gc`` removes them), never a version missing its files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from modelkeep._assignments import param_value
from modelkeep._metric import metric_float
from modelkeep._names import check_model_name
from modelkeep.db.database import Database
from modelkeep.errors import ArtifactsMismatchError, InvalidInputError, PathNotFoundError
from modelkeep.registry.inheritance import declared_paths
from modelkeep.registry.model_files import model_files
from modelkeep.registry.semver import Version
from modelkeep.registry.snapshot import build_snapshot
from modelkeep.registry.versions import Bump, VersionInfo, register_version, version_exists
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.tree import TreeInfo, add_path


def register_path(
    db: Database,
    store: ObjectStore,
    name: str,
    path: Path,
    *,
    author: str,
    version: str | None = None,
    bump: Bump | None = None,
    metadata: Any = None,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    lineage: Mapping[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
    allow_same: bool = False,
    inherit: bool = True,
    expect_tree: str | None = None,
) -> VersionInfo:
    """Store ``path`` and register it as a new version of ``name``.

    ``.modelkeep/``, modelkeep's pointer files and its ``.gitignore`` lines are left out
    (``model_files``); a folder with no files is refused. The new version inherits its
    predecessor's declared metadata (``inheritance``) unless ``inherit`` is False; content
    identical to the latest version makes no new version unless ``allow_same``. With
    ``expect_tree``, files that do not form that tree are refused before anything is recorded.
    """
    check_model_name(name)
    if version is not None:
        Version.parse(version)
    if bump is not None and bump not in ("major", "minor", "patch"):
        raise InvalidInputError(f"invalid bump '{bump}'", hint="use major, minor or patch")
    clean_params = {k: param_value(v) for k, v in (params or {}).items()}
    clean_metrics = {k: metric_float(k, v, from_text=True) for k, v in (metrics or {}).items()}
    path = Path(path)
    if not path.exists():
        raise PathNotFoundError(
            f"path '{path}' does not exist", hint="give the model file or folder to register",
            path=str(path),
        )
    if version is not None:
        _refuse_existing(db, name, str(Version.parse(version)))
    # validate the snapshot before storing anything (a dry build with placeholder identity)
    build_snapshot(metadata, name=name, version="0.0.0", created="1970-01-01T00:00:00.000000Z",
                   author=author, tree_id="0" * 64, size=0, params=clean_params,
                   metrics=clean_metrics, lineage=lineage)
    with store.recording():  # gc's root set waits until the version row is committed
        tree = store_candidate(store, path, progress=progress, expect_tree=expect_tree)
        inferred = infer_technical(db, store, name, tree.tree_id, metadata, inherit)

        def snapshot(chosen: str, created: str) -> dict[str, Any]:
            return build_snapshot(
                metadata, name=name, version=chosen, created=created, author=author,
                tree_id=tree.tree_id, size=tree.size, params=clean_params,
                metrics=clean_metrics, lineage=lineage, inferred=inferred,
            )

        info = register_version(
            db, name, tree_id=tree.tree_id, size=tree.size, files=tree.files, author=author,
            snapshot=snapshot, version=version, bump=bump, run_id=run_id,
            declared=declared_paths(metadata) if inherit else None, allow_same=allow_same,
        )
    return dataclasses.replace(info, notes=tree.notes)


def store_candidate(store: ObjectStore, path: Path, *,
                    progress: Callable[[int, int], None] | None = None,
                    expect_tree: str | None = None) -> TreeInfo:
    """Store the model files under ``path`` (call within ``store.recording()``): a folder
    with no files, or files that do not form ``expect_tree``, are refused."""
    with model_files(store.tmp_dir) as chosen:
        tree = add_path(store, path, progress=progress, exclude=chosen.exclude,
                        select=chosen.select)
    if expect_tree is not None and tree.tree_id != expect_tree:
        raise ArtifactsMismatchError(
            f"the files in '{path}' form tree {tree.tree_id}, but the metadata names tree "
            f"{expect_tree}", hint="pass --artifacts the folder these metadata were exported "
            "from (or check it out: modelkeep checkout NAME@VERSION DEST)",
            path=str(path), expected=expect_tree, found=tree.tree_id)
    if tree.files == 0:
        raise InvalidInputError(
            f"'{path}' holds no files to register", hint="give the folder the model's files are in",
            path=str(path),
        )
    return tree


def infer_technical(db: Database, store: ObjectStore, name: str, tree_id: str, metadata: Any,
                    inherit: bool) -> dict[str, Any]:
    """The technical fields modelkeep infers from the stored files (``loaders.inference``):
    cheap when nothing needs it (no loader: the safetensors headers only)."""
    from modelkeep.registry.loaders.inference import infer_for_registration

    found = infer_for_registration(db, store, name, tree_id, metadata, inherit=inherit)
    return {k: v for k, v in (("signature", found.signature), ("fingerprint", found.fingerprint))
            if v is not None}


def _refuse_existing(db: Database, name: str, version: str) -> None:
    exists = db.scalar(
        "SELECT 1 FROM versions v JOIN models m ON m.id = v.model_id "
        "WHERE m.name = :n AND v.version = :v",
        {"n": name, "v": version},
    )
    if exists:
        raise version_exists(name, version)
