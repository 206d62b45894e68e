"""Facts learned after registration (notes, metrics), appended as dated records, never overwritten."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

from modelkeep.clock import now_iso
from modelkeep.db.database import Database
from modelkeep.errors import InvalidInputError
from modelkeep.metric import metric_float

RecordKind = Literal["note", "metric", "inherit", "validation"]
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


def append_record(db: Database, version_id: int, kind: RecordKind, key: str, value: Any,
                  author: str) -> VersionRecord:
    """Append a note or metric to an existing version."""
    if kind == "metric":
        value = metric_float(key, value, from_text=True)
    elif not str(value).strip():
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
    """Every record of a version (up to ``at``), oldest first."""
    rows = db.query(
        "SELECT kind, key, value_json, created_at, author FROM version_records "
        "WHERE version_id = :v " + ("AND created_at <= :at " if at else "") + "ORDER BY id",
        {"v": version_id, "at": at},
    )
    return [
        VersionRecord(r["kind"], r["key"], json.loads(r["value_json"]), r["created_at"],
                      r["author"])
        for r in rows
    ]
