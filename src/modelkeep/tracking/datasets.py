"""Datasets as versions: a dataset version is a stored tree, identified by the tree id.

Logging the same bytes twice, from any run, gives the same tree id and so the same dataset
version (the first name it was logged under is its name; each run keeps the name, source path,
role and processing steps it used). A version registered from a run is linked to the run's
datasets; a version registered with a dataset in its lineage metadata is found by the tree id.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from modelkeep.clock import now_iso
from modelkeep.db.database import Database
from modelkeep.errors import DatasetNotFoundError, InvalidInputError, PathNotFoundError
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.tree import add_path
from modelkeep.tracking.views import (
    DatasetRunUse,
    DatasetSummary,
    DatasetVersionUse,
    DatasetView,
)

ROLES = ("train", "validation", "test")
DATASET_COLUMNS = "d.id, d.tree_id, d.name, d.size, d.files, d.created_at, d.author"


def processing_steps(steps: Sequence[Any] | None, what: str) -> list[dict[str, Any]]:
    """Steps as ``{"name", "params"}`` dicts: a step is a name, or a dict with name and params."""
    from pydantic import ValidationError

    from modelkeep.schema.components import ProcessingStep

    out = []
    for step in steps or []:
        raw = {"name": step} if isinstance(step, str) else step
        try:
            out.append(ProcessingStep.model_validate(raw).model_dump(mode="json"))
        except ValidationError as exc:
            raise InvalidInputError(
                f"invalid {what} step {step!r}: {exc.errors()[0]['msg']}",
                hint=f"a {what} step is a name or {{'name': ..., 'params': {{...}}}}",
            ) from exc
    return out


def store_dataset(db: Database, store: ObjectStore, path: Path, *, name: str | None,
                  author: str, progress: Callable[[int, int], None] | None = None
                  ) -> dict[str, Any]:
    """Store the files at ``path`` and return their dataset version (created on first sight)."""
    path = Path(path)
    if not path.exists():
        raise PathNotFoundError(
            f"dataset path '{path}' does not exist (moved or deleted?); nothing was logged",
            hint="check the path, or log the dataset where it now lives", path=str(path),
        )
    try:
        tree = add_path(store, path, progress=progress)
    except FileNotFoundError as exc:
        raise PathNotFoundError(
            f"dataset path '{path}' vanished while it was being stored; nothing was logged",
            hint="log it again once the files are in place", path=str(path),
        ) from exc
    label = name or path.resolve().name or "dataset"
    with db.write():
        db.execute(
            "INSERT INTO datasets (tree_id, name, size, files, created_at, author) "
            "VALUES (:t, :n, :s, :f, :at, :a) ON CONFLICT (tree_id) DO NOTHING",
            {"t": tree.tree_id, "n": label, "s": tree.size, "f": tree.files, "at": now_iso(),
             "a": author},
        )
        row = db.query_one(f"SELECT {DATASET_COLUMNS} FROM datasets d WHERE tree_id = :t",
                           {"t": tree.tree_id})
    assert row is not None
    return row


def link_dataset(db: Database, run_pk: int, dataset: dict[str, Any], *, role: str, name: str,
                 source: str | None, preprocessing: list[dict[str, Any]],
                 augmentation: list[dict[str, Any]]) -> None:
    """Record that a run used a dataset version in ``role`` (logging it again updates the steps)."""
    with db.write():
        db.execute(
            "INSERT INTO run_datasets (run_id, dataset_id, role, name, source, preprocessing_json, "
            "augmentation_json, logged_at) VALUES (:r, :d, :role, :n, :src, :pre, :aug, :at) "
            "ON CONFLICT (run_id, dataset_id, role) DO UPDATE SET name = excluded.name, "
            "source = excluded.source, preprocessing_json = excluded.preprocessing_json, "
            "augmentation_json = excluded.augmentation_json, logged_at = excluded.logged_at",
            {"r": run_pk, "d": dataset["id"], "role": role, "n": name, "src": source,
             "pre": json.dumps(preprocessing), "aug": json.dumps(augmentation), "at": now_iso()},
        )


def check_role(role: str) -> str:
    """``role`` if it is train, validation or test."""
    if role not in ROLES:
        raise InvalidInputError(f"invalid dataset role '{role}'",
                                hint="use one of: " + ", ".join(ROLES), role=role)
    return role


def run_datasets(db: Database, run_pk: int) -> list[dict[str, Any]]:
    """A run's datasets as schema.components.DatasetComponent dicts."""
    rows = db.query(
        "SELECT rd.name, rd.role, d.tree_id, rd.source, rd.preprocessing_json, "
        "rd.augmentation_json FROM run_datasets rd JOIN datasets d ON d.id = rd.dataset_id "
        "WHERE rd.run_id = :r ORDER BY rd.logged_at, rd.role", {"r": run_pk})
    return [{"name": r["name"], "role": r["role"], "tree": r["tree_id"], "source": r["source"],
             "preprocessing": json.loads(r["preprocessing_json"]),
             "augmentation": json.loads(r["augmentation_json"])} for r in rows]


def list_datasets(db: Database, name: str | None = None) -> list[DatasetSummary]:
    """Every dataset version (or those named ``name``), newest first, with how often used."""
    where = "WHERE d.name = :n " if name else ""
    return [DatasetSummary(**row) for row in db.query(
        f"SELECT {DATASET_COLUMNS}, COUNT(DISTINCT rd.run_id) AS runs FROM datasets d "
        f"LEFT JOIN run_datasets rd ON rd.dataset_id = d.id {where}"
        "GROUP BY d.id, d.tree_id, d.name, d.size, d.files, d.created_at, d.author "
        "ORDER BY d.created_at DESC, d.id DESC", {"n": name})]


def get_dataset(db: Database, ref: str) -> dict[str, Any]:
    """A dataset version by tree id, unique tree-id prefix (4+ hex digits) or name (newest)."""
    ref = (ref or "").strip()
    rows = []
    if len(ref) >= 4 and all(c in "0123456789abcdef" for c in ref):
        rows = db.query(f"SELECT {DATASET_COLUMNS} FROM datasets d WHERE tree_id LIKE :p LIMIT 2",
                        {"p": ref + "%"})
        if len(rows) > 1:
            raise InvalidInputError(f"dataset id '{ref}' is ambiguous",
                                    hint="give more characters of the tree id", dataset=ref)
    if not rows:
        rows = db.query(f"SELECT {DATASET_COLUMNS} FROM datasets d WHERE name = :n "
                        "ORDER BY created_at DESC, id DESC LIMIT 1", {"n": ref})
    if not rows:
        from modelkeep.errors import did_you_mean

        names = [r["name"] for r in db.query("SELECT DISTINCT name FROM datasets")]
        suggestion = did_you_mean(ref, names)
        raise DatasetNotFoundError(
            f"dataset '{ref}' not found" + (f"; {suggestion}" if suggestion else ""),
            hint="run 'modelkeep datasets list' to see the dataset versions", dataset=ref,
        )
    return rows[0]


def dataset_usage(db: Database, dataset: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The runs that used a dataset version and the model versions trained or evaluated on it."""
    runs = db.query(
        "SELECT r.uuid AS run, r.model, r.name, r.status, rd.role, rd.source, rd.logged_at "
        "FROM run_datasets rd JOIN runs r ON r.id = rd.run_id WHERE rd.dataset_id = :d "
        "ORDER BY rd.logged_at", {"d": dataset["id"]})
    versions: dict[tuple[str, str], dict[str, Any]] = {}
    for r in db.query(
        "SELECT m.name, v.version, v.created_at, rd.role, r.uuid AS run FROM run_datasets rd "
        "JOIN runs r ON r.id = rd.run_id JOIN versions v ON v.run_id = r.uuid "
        "JOIN models m ON m.id = v.model_id WHERE rd.dataset_id = :d", {"d": dataset["id"]}):
        _add_use(versions, r["name"], r["version"], r["created_at"], r["role"], r["run"])
    tree = dataset["tree_id"]
    for r in db.query(
        "SELECT m.name, v.version, v.created_at, v.run_id, v.metadata_json FROM versions v "
        "JOIN models m ON m.id = v.model_id WHERE v.metadata_json LIKE :p", {"p": f"%{tree}%"}):
        for ds in (json.loads(r["metadata_json"]).get("components") or {}).get("datasets") or []:
            if ds.get("tree") == tree:
                _add_use(versions, r["name"], r["version"], r["created_at"], ds.get("role"),
                         r["run_id"])
    return {"runs": runs, "versions": sorted(versions.values(), key=lambda v: v["created_at"])}


def dataset_view(db: Database, ref: str) -> DatasetView:
    """A dataset version (tree id, prefix or name) with the runs and versions that used it."""
    found = get_dataset(db, ref)
    usage = dataset_usage(db, found)
    return DatasetView(**found, runs=[DatasetRunUse(**r) for r in usage["runs"]],
                       versions=[DatasetVersionUse(**v) for v in usage["versions"]])


def _add_use(found: dict[tuple[str, str], dict[str, Any]], name: str, version: str, created: str,
             role: str | None, run: str | None) -> None:
    entry = found.setdefault((name, version), {"ref": f"{name}@{version}", "created_at": created,
                                               "roles": [], "run": run})
    if role and role not in entry["roles"]:
        entry["roles"].append(role)
