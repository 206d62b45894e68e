"""Request and response payloads a gateway was told to log: stored redacted, kept for a while.

Payload logging is off unless the project turns it on (``[gateway] payload_logging = true``
or ``modelkeep gateway --log-payloads``): nothing a client sends or a model answers is written
anywhere then. When it is on, each answered request becomes one row of ``payloads``
(migration 0011) in the keep's own database: never a version record, so ``push`` and ``pull``
never carry it. Every text is redacted first (``redaction.py``) and cut to
``payload_max_bytes``; rows older than the retention period are deleted by every write and by
``modelkeep purge``.

Deleting is meant to remove the bytes, not only the rows: on SQLite the delete runs with
``secure_delete`` (freed space is overwritten with zeros) and a purge then truncates the
write-ahead log, so the text is gone from the files too. PostgreSQL frees the space at its
next VACUUM (docs/privacy.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from modelkeep.clock import now_iso, parse_timestamp, to_iso
from modelkeep.db.database import Database
from modelkeep.errors import InvalidInputError
from modelkeep.registry.redaction import Redactor
from modelkeep.registry.versions import model_id_of

DEFAULT_RETENTION_DAYS = 7.0
DEFAULT_MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class PayloadPolicy:
    """Whether payloads are logged, how long they are kept, how they are redacted and cut."""

    enabled: bool = False
    retention_days: float = DEFAULT_RETENTION_DAYS
    redactor: Redactor = field(default_factory=Redactor)
    max_bytes: int = DEFAULT_MAX_BYTES

    def cutoff(self, now: datetime | None = None) -> str:
        """The stored time before which a payload has expired."""
        return to_iso((now or datetime.now(UTC)) - timedelta(days=self.retention_days))

    def to_dict(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "retention_days": self.retention_days,
                "redact": list(self.redactor.builtin),
                "redact_patterns": dict(self.redactor.custom), "max_bytes": self.max_bytes}


@dataclass(frozen=True)
class PayloadItem:
    """One answered request as a gateway hands it over: the JSON inputs and outputs (not yet
    redacted), or the error code it was answered with instead of outputs."""

    model: str
    version: str
    request_id: str
    inputs: Any
    outputs: Any = None
    error: str = ""


@dataclass(frozen=True)
class PurgeResult:
    """How many payloads a purge deleted, of which model (None: all) and before when."""

    deleted: int
    model: str | None
    before: str | None  # None: every payload, whatever its age

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cut(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    kept = data[:limit].decode(errors="ignore")
    return f"{kept}...[cut: {len(data) - len(kept.encode())} more bytes]"


def _redacted_json(policy: PayloadPolicy, value: Any) -> str:
    return _cut(json.dumps(policy.redactor.value(value), ensure_ascii=False, sort_keys=True,
                           default=str), policy.max_bytes)


def record_payloads(db: Database, items: Sequence[PayloadItem], policy: PayloadPolicy) -> int:
    """Store ``items`` redacted and delete expired payloads, in one transaction; how many were
    stored (items of models the keep does not know are dropped)."""
    rows = []
    ids: dict[str, int | None] = {}
    for item in items:
        if item.model not in ids:
            ids[item.model] = db.scalar("SELECT id FROM models WHERE name = :n", {"n": item.model})
        if ids[item.model] is None:
            continue
        rows.append({"m": ids[item.model], "v": item.version, "r": item.request_id,
                     "at": now_iso(), "req": _redacted_json(policy, item.inputs),
                     "res": None if item.error else _redacted_json(policy, item.outputs),
                     "err": _cut(policy.redactor.text(item.error), 1024) if item.error else None})
    _secure_delete(db)
    with db.write():
        db.executemany("INSERT INTO payloads (model_id, version, request_id, at, request_json, "
                       "response_json, error) VALUES (:m, :v, :r, :at, :req, :res, :err)", rows)
        db.execute("DELETE FROM payloads WHERE at < :cutoff", {"cutoff": policy.cutoff()})
    return len(rows)


def purge_payloads(db: Database, policy: PayloadPolicy, *, model: str | None = None,
                   before: str | None = None, everything: bool = False) -> PurgeResult:
    """Delete the payloads of ``model`` (None: every model) stored before ``before`` (None:
    the retention cutoff), or all of them (``everything``); then, on SQLite, truncate the
    write-ahead log so no copy of the deleted text stays in it."""
    cutoff = None if everything else before or policy.cutoff()
    where: list[str] = []
    params: dict[str, object] = {}
    if model is not None:
        where.append("model_id = :m")
        params["m"] = model_id_of(db, model)
    if cutoff is not None:
        where.append("at < :cutoff")
        params["cutoff"] = cutoff
    _secure_delete(db)
    with db.write():
        cursor = db.execute("DELETE FROM payloads" + (" WHERE " + " AND ".join(where)
                                                      if where else ""), params)
        deleted = int(cursor.rowcount or 0)
    if db.dialect == "sqlite":
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return PurgeResult(deleted, model, cutoff)


def count_payloads(db: Database, model: str | None = None) -> int:
    """How many payloads the keep holds (of ``model``)."""
    if model is None:
        return int(db.scalar("SELECT COUNT(*) FROM payloads") or 0)
    return int(db.scalar("SELECT COUNT(*) FROM payloads WHERE model_id = :m",
                         {"m": model_id_of(db, model)}) or 0)


_UNITS = {"m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}


def parse_before(text: str, now: datetime | None = None) -> str:
    """A ``--before`` time: ISO 8601 (``2026-12-01``, ``2026-12-01T12:00Z``) or an age
    (``30m``, ``12h``, ``3d``, ``2w``: that long before now), in the stored form."""
    raw = text.strip()
    unit = _UNITS.get(raw[-1:].lower()) if raw else None
    if unit is not None and raw[:-1].replace(".", "", 1).isdigit():
        return to_iso((now or datetime.now(UTC)) - timedelta(seconds=float(raw[:-1]) * unit))
    try:
        return parse_timestamp(raw)
    except InvalidInputError:
        raise InvalidInputError(f"invalid time '{text}': expected ISO 8601 (2026-12-01T12:00Z) "
                                "or an age such as 30m, 12h, 3d, 2w",
                                hint="e.g. modelkeep purge --before 3d", value=text) from None


def _secure_delete(db: Database) -> None:
    """SQLite overwrites what this connection deletes with zeros from now on."""
    if db.dialect == "sqlite" and not db.in_transaction:
        db.execute("PRAGMA secure_delete = ON")
