"""Facts learned after registration, appended as dated records, never overwritten.

Kinds: ``note`` and ``metric`` (the user's), ``validation`` (a validation gate's result),
``model_card`` and ``changelog`` (documents modelkeep generated), and ``inherit`` (which fields
a version took from its predecessor: a registration fact). All but ``inherit`` travel with the
version through push and pull (``CARRIED_KINDS``, ``registry/record_sync.py``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from modelkeep._metric import metric_float
from modelkeep.clock import now_iso
from modelkeep.db.database import Database
from modelkeep.errors import InvalidInputError

RecordKind = Literal["note", "metric", "inherit", "validation", "model_card", "changelog"]
CARRIED_KINDS = ("note", "metric", "validation", "model_card", "changelog")
INHERIT_KEY = "inherited"  # an "inherit" record: {"from": VERSION, "fields": [dotted paths]}


@dataclass(frozen=True)
class VersionRecord:
    """One appended fact about a version."""

    kind: str
    key: str
    value: Any
    created_at: str
    author: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def identity(self) -> tuple[str, str, str, str, str]:
        """What makes two records the same fact (pull adds a record only once)."""
        return record_identity(self.to_dict())


def record_identity(rec: Mapping[str, Any]) -> tuple[str, str, str, str, str]:
    """``(kind, key, created_at, author, value as canonical JSON)`` of a record's JSON form."""
    return (rec["kind"], rec["key"], rec["created_at"], rec["author"],
            json.dumps(rec["value"], sort_keys=True, allow_nan=True))


def append_record(db: Database, version_id: int, kind: RecordKind, key: str, value: Any,
                  author: str) -> VersionRecord:
    """Append a record (a note, a metric, a validation result, a document) to a version."""
    if kind == "metric":
        value = metric_float(key, value, from_text=True)
    elif kind == "note" and not str(value).strip():
        raise InvalidInputError("a note needs some text", hint="modelkeep note NAME@VERSION 'TEXT'")
    created = now_iso()
    with db.write():
        insert_record(db, version_id, kind, key, value, author, created)
    return VersionRecord(kind, key, value, created, author)


def insert_record(db: Database, version_id: int, kind: RecordKind, key: str, value: Any,
                  author: str, created: str) -> None:
    """Insert one record row (the caller holds the write lock and has checked the value)."""
    db.execute(
        "INSERT INTO version_records (version_id, kind, key, value_json, created_at, author) "
        "VALUES (:v, :kind, :key, :value, :at, :author)",
        {"v": version_id, "kind": kind, "key": key,
         "value": json.dumps(value, allow_nan=True), "at": created, "author": author},
    )


def list_records(db: Database, version_id: int, at: str | None = None) -> list[VersionRecord]:
    """Every record of a version (up to ``at``), oldest first (records pulled from a remote
    take their place by date, so the newest metric value stays the one shown)."""
    rows = db.query(
        "SELECT kind, key, value_json, created_at, author FROM version_records "
        "WHERE version_id = :v " + ("AND created_at <= :at " if at else "")
        + "ORDER BY created_at, id",
        {"v": version_id, "at": at},
    )
    return [
        VersionRecord(r["kind"], r["key"], json.loads(r["value_json"]), r["created_at"],
                      r["author"])
        for r in rows
    ]
