"""Appended records travel with their versions: push sends them, pull adds the missing ones.

A version's notes, metrics, validation results and generated documents are appended after it
was registered, so they cannot live in its immutable ``versions/NAME/VERSION.json``. Beside it,
a remote holds ``records/NAME/VERSION.json``: every carried record of that version that any keep
pushed, oldest first. A record is one fact, identified by (kind, key, time, author, value):

- push reads the remote's file, adds the records it lacks and writes the union whole (a reader
  sees the old file or the new); records the remote already has are not sent again, and a
  record that a pull would refuse (a note with terminal control characters) stays here, with a
  note saying so. Two keeps pushing the same version at the same moment may each write their
  union; the records the last writer did not know reach the remote on the next push of the other.
- pull reads and checks the whole file before anything is adopted (``remote_records``), then,
  in one transaction, appends the records this keep lacks: pulling twice adds nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from modelkeep.db.database import Database
from modelkeep.registry.records import CARRIED_KINDS, insert_record, list_records, record_identity
from modelkeep.registry.remote_records import (
    APPENDED_FORMAT,
    appended_path,
    check_appended_record,
    read_appended,
)
from modelkeep.registry.versions import VersionInfo
from modelkeep.storage.remotes import Remote


def _remote_has(remote: Remote, listed: dict[str, set[str]], name: str, number: str) -> bool:
    """Whether the remote holds ``records/NAME/VERSION.json`` (one listing per model)."""
    if name not in listed:
        listed[name] = set(remote.list_names(f"records/{name}"))
    return f"{number}.json" in listed[name]


def _order(rec: dict[str, Any]) -> tuple[str, ...]:
    kind, key, created, author, value = record_identity(rec)
    return (created, kind, key, author, value)


def push_records(db: Database, remote: Remote, versions: Sequence[VersionInfo]
                 ) -> tuple[int, list[str]]:
    """Send the carried records of ``versions`` the remote lacks: (records sent, notes)."""
    listed: dict[str, set[str]] = {}
    sent, notes = 0, []
    for v in versions:
        mine = []
        for r in list_records(db, v.id):
            if r.kind not in CARRIED_KINDS:
                continue
            try:
                mine.append(check_appended_record(r.to_dict(), v.created_at))
            except ValueError as exc:
                notes.append(f"{v.ref}: a {r.kind} record of {r.created_at} was not pushed "
                             f"(a pull would refuse it): {exc}")
        if not mine:
            continue
        theirs = (read_appended(remote, v.name, v.version, v.created_at)
                  if _remote_has(remote, listed, v.name, v.version) else [])
        known = {record_identity(r) for r in theirs}
        new = [r for r in mine if record_identity(r) not in known]
        if not new:
            continue
        body = {"format": APPENDED_FORMAT, "version": 1, "name": v.name, "number": v.version,
                "records": sorted(theirs + new, key=_order)}
        remote.write_bytes(appended_path(v.name, v.version),
                           json.dumps(body, sort_keys=True, allow_nan=True).encode())
        sent += len(new)
    return sent, notes


def fetch_records(remote: Remote, versions: Sequence[tuple[str, str, str]]
                  ) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(name, number) -> the remote's validated records, for each (name, number, created_at);
    any invalid file raises before the caller adopts anything."""
    listed: dict[str, set[str]] = {}
    found = {}
    for name, number, created in versions:
        if _remote_has(remote, listed, name, number):
            found[(name, number)] = read_appended(remote, name, number, created)
    return found


def adopt_records(db: Database, version_id: int, records: Sequence[dict[str, Any]]) -> int:
    """Append the ``records`` this version lacks (checked ones); how many were added."""
    if not records:
        return 0
    added = 0
    with db.write():  # read and insert under the write lock: two pulls never add one twice
        known = {r.identity() for r in list_records(db, version_id)}
        for rec in sorted(records, key=_order):
            ident = record_identity(rec)
            if ident in known:
                continue
            known.add(ident)
            insert_record(db, version_id, rec["kind"], rec["key"], rec["value"], rec["author"],
                          rec["created_at"])
            added += 1
    return added
