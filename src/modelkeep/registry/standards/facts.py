"""Everything the generated documents say about one version, read once from the keep.

The writers in this package (model card, MLmodel, CycloneDX, OpenLineage) and the changelog are
pure functions of a ``VersionFacts``: they read no database, so each is tested on its own and
two writers never disagree about a version.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from modelkeep.db.database import Database
from modelkeep.registry.records import VersionRecord, list_records
from modelkeep.registry.snapshot import metrics_of, params_of
from modelkeep.registry.versions import VersionInfo, list_versions, version_metadata

DOCUMENT_KINDS = ("model_card", "changelog")  # what ``docs`` stores; never part of a document
# namespace of the ids the writers derive from a version (uuid5), so each export is reproducible
TASK_TAG = "task:"
LICENSE_TAG = "license:"  # the Hub's own tag for a license (the schema has no license field)
NAMESPACE = uuid.UUID("2f1c9d3e-4a6b-5c7d-8e9f-0a1b2c3d4e5f")


@dataclass(frozen=True)
class RunTimes:
    """When the run that made the version started and ended (UTC ISO strings)."""

    run_id: str
    started_at: str
    ended_at: str | None
    status: str


@dataclass(frozen=True)
class VersionFacts:
    """A version, its metadata snapshot and what was appended to it since."""

    info: VersionInfo
    metadata: dict[str, Any]
    records: tuple[VersionRecord, ...] = ()
    previous: VersionInfo | None = None
    run: RunTimes | None = None
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, Any]:
        return params_of(self.metadata)

    @property
    def validations(self) -> list[VersionRecord]:
        return [r for r in self.records if r.kind == "validation"]

    @property
    def notes(self) -> list[VersionRecord]:
        return [r for r in self.records if r.kind == "note"]

    def tagged(self, prefix: str) -> str | None:
        """The value of the version's first ``prefix`` tag (``task:``, ``license:``), if any."""
        return next((t[len(prefix):] for t in self.get("identity", "tags") or []
                     if t.startswith(prefix) and len(t) > len(prefix)), None)

    def get(self, *path: str) -> Any:
        """A field of the metadata snapshot by path (None when absent)."""
        node: Any = self.metadata
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        return node


def gather_facts(db: Database, info: VersionInfo,
                 versions: list[VersionInfo] | None = None) -> VersionFacts:
    """Read a version's facts: snapshot, appended records (documents left out), the version
    before it in SemVer order (among ``versions``, read when not given), and the times of its
    run when this keep has the run."""
    meta = version_metadata(db, info.id)
    records = tuple(r for r in list_records(db, info.id)
                    if r.kind not in DOCUMENT_KINDS and r.kind != "inherit")
    metrics = {**metrics_of(meta), **{r.key: float(r.value) for r in records if r.kind == "metric"}}
    versions = versions if versions is not None else list_versions(db, info.name)
    index = next(i for i, v in enumerate(versions) if v.id == info.id)
    previous = versions[index - 1] if index > 0 else None
    run = None
    if info.run_id:
        row = db.query("SELECT uuid, started_at, ended_at, status FROM runs WHERE uuid = :u",
                       {"u": info.run_id})
        if row:
            run = RunTimes(row[0]["uuid"], row[0]["started_at"], row[0]["ended_at"],
                           row[0]["status"])
    return VersionFacts(info, meta, records, previous, run, metrics)
