"""Read-side compositions of a version: the full view, a diff, export and import of metadata."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from modelkeep.db.database import Database
from modelkeep.errors import ObjectNotFoundError
from modelkeep.registry.aliases import aliases_by_version
from modelkeep.registry.diff import VersionDiff, diff_snapshots
from modelkeep.registry.records import VersionRecord, list_records
from modelkeep.registry.snapshot import build_snapshot, metrics_of, params_of
from modelkeep.registry.versions import VersionInfo, register_version, version_metadata
from modelkeep.results import Result
from modelkeep.storage.objects import ObjectStore


def appended_metrics(db: Database, info: VersionInfo, at: str | None = None) -> dict[str, float]:
    """The newest value of each metric appended after registration."""
    return {r.key: r.value for r in list_records(db, info.id, at) if r.kind == "metric"}


@dataclass(frozen=True)
class VersionView(Result):
    """A version as ``show`` tells it: the version, its aliases, params, metrics (appended
    ones included), appended records, what it inherited, and its metadata snapshot."""

    info: VersionInfo
    aliases: list[str]
    params: dict[str, Any]
    metrics: dict[str, Any]
    records: list[VersionRecord]
    inherited: dict[str, Any] | None  # {"from": version, "fields": [...]}
    metadata: dict[str, Any]  # the registered snapshot (schema.metadata.ModelMetadata as JSON)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the version's fields, then aliases, params, metrics, records, inherited,
        metadata."""
        return {**self.info.to_dict(), "aliases": self.aliases, "params": self.params,
                "metrics": self.metrics, "records": [r.to_dict() for r in self.records],
                "inherited": self.inherited, "metadata": self.metadata}


@dataclass(frozen=True)
class VersionListing(Result):
    """A version as ``list NAME`` shows it: the version and the aliases pointing at it now."""

    info: VersionInfo
    aliases: list[str]

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the version's fields, then ``aliases``."""
        return {**self.info.to_dict(), "aliases": self.aliases}


def version_view(db: Database, info: VersionInfo, at: str | None = None) -> VersionView:
    """Everything ``show`` prints: the version, its aliases, params, metrics, records, metadata."""
    meta = version_metadata(db, info.id)
    records = list_records(db, info.id, at)
    inherited = next((r.value for r in records if r.kind == "inherit"), None)
    records = [r for r in records if r.kind != "inherit"]  # a registration fact, not appended
    metrics = {**metrics_of(meta), **{r.key: r.value for r in records if r.kind == "metric"}}
    return VersionView(info, sorted(aliases_by_version(db, info.name).get(info.version, [])),
                       params_of(meta), metrics, records, inherited, meta)


def diff_versions(db: Database, store: ObjectStore, a: VersionInfo, b: VersionInfo) -> VersionDiff:
    """Compare two versions: params, metrics (with appended ones), other metadata, files."""
    from modelkeep.storage.tree import diff_trees

    result = diff_snapshots(a.ref, b.ref, version_metadata(db, a.id), version_metadata(db, b.id),
                            appended_metrics(db, a), appended_metrics(db, b))
    files = diff_trees(store, a.tree_id, b.tree_id)
    return replace(result, files_added=files.added, files_removed=files.removed,
                   files_changed=files.changed)


def export_version(db: Database, info: VersionInfo, fmt: str) -> bytes:
    """A version's metadata snapshot in ``json``, ``yaml`` or ``proto``."""
    from modelkeep.schema import dump_metadata
    from modelkeep.schema.metadata import ModelMetadata

    meta = ModelMetadata.model_validate(version_metadata(db, info.id))
    return dump_metadata(meta, fmt)  # type: ignore[arg-type]


def import_version(db: Database, store: ObjectStore, path: Path, *, author: str,
                   artifacts: Path | None = None, name: str | None = None,
                   progress: Any = None) -> VersionInfo:
    """Register the version an exported metadata file describes, under its own number."""
    from modelkeep.registry.registration import register_path
    from modelkeep.schema import load_metadata
    from modelkeep.storage.tree import read_tree

    meta = load_metadata(path)
    target = name or meta.identity.name
    if name and name != meta.identity.name:
        meta = meta.model_copy(update={"identity": meta.identity.model_copy(update={"name": name})})
    version = meta.identity.version
    if artifacts is not None:
        return register_path(db, store, target, artifacts, author=author, version=version,
                             metadata=meta, progress=progress, inherit=False,
                             expect_tree=meta.components.artifacts.tree)
    tree_id = meta.components.artifacts.tree
    if not tree_id or not store.has(tree_id):
        raise ObjectNotFoundError(
            f"the artifacts of {target}@{version} (tree {str(tree_id)[:12]}) are not in this "
            "keep's store",
            hint="pass --artifacts PATH, or pull the objects from a remote first",
            name=target, version=version,
        )
    entries = read_tree(store, tree_id)
    size = sum(e.size for e in entries)

    def snapshot(chosen: str, created: str) -> dict[str, Any]:
        return build_snapshot(meta, name=target, version=chosen, created=created, author=author,
                              tree_id=tree_id, size=size, params={}, metrics={})

    return register_version(db, target, tree_id=tree_id, size=size, files=len(entries),
                            author=author, snapshot=snapshot, version=version)
