"""push and pull of versions: objects plus a small metadata index, so a fresh keep can pull.

Beside ``objects/`` a remote holds::

    versions/NAME/VERSION.json   one record per pushed version: number, tree, size, files, author,
                                 creation time, run id and the metadata snapshot (immutable)
    aliases/NAME.json            NAME's aliases at its last push (used to resolve NAME@ALIAS)
                                 and their history (``pull NAME@ALIAS`` sets the alias here)
    records/NAME/VERSION.json    the version's appended records: notes, metrics, validations,
                                 model card and changelog (``record_sync``; grows, never shrinks)

Push sends the objects first and writes the records after, so a record on a remote always has
its objects there. Pull fetches the objects first and registers an unknown version last, with
its original number, author, creation time and snapshot: a version never exists locally before
its files do (a ``--include`` pull registers it with only the chosen files, on purpose).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from modelkeep.db.database import Database
from modelkeep.errors import (
    AliasNotFoundError,
    ConflictError,
    ModelNotFoundError,
    ObjectNotFoundError,
    VersionNotFoundError,
)
from modelkeep.redact import redact_metadata
from modelkeep.registry.aliases import adopt_moves, alias_history, current_aliases
from modelkeep.registry.record_sync import adopt_records, fetch_records, push_records
from modelkeep.registry.refs import LATEST, parse_ref
from modelkeep.registry.remote_records import (
    ALIASES_FORMAT,
    RECORD_FORMAT,
    check_against_tree,
    read_alias_history,
    read_aliases,
    read_record,
    record_path,
    remote_numbers,
)
from modelkeep.registry.retention import all_versions, mark_versions, pruned_version_ids
from modelkeep.registry.semver import Version, latest
from modelkeep.registry.versions import (
    VersionInfo,
    insert_version,
    list_versions,
    resolve,
    version_metadata,
)
from modelkeep.storage.hashing import Progress
from modelkeep.storage.remotes import Remote
from modelkeep.storage.transfer import TransferStats, pull_objects, push_objects


@dataclass
class SyncResult:
    """Versions moved, versions newly registered here, and the object transfer."""

    versions: list[str] = field(default_factory=list)
    registered: list[str] = field(default_factory=list)
    transfer: TransferStats = field(default_factory=TransferStats)
    notes: list[str] = field(default_factory=list)
    history_trees: int | None = None  # push --all-versions: trees pointers named in Git history
    trees_not_here: list[str] = field(default_factory=list)  # ... that this keep does not hold
    records: int = 0  # appended records sent (push) or added here (pull)

    def to_dict(self) -> dict[str, Any]:
        out = {"versions": self.versions, "registered": self.registered,
               **self.transfer.to_dict(), "records": self.records, "notes": self.notes}
        if self.history_trees is not None:
            out.update(history_trees=self.history_trees, trees_not_here=self.trees_not_here)
        return out


def versions_to_push(db: Database, refs: Sequence[str]) -> list[VersionInfo]:
    """The versions named by ``refs`` (a bare NAME: all of its versions; none: every version),
    leaving out versions gc pruned (they have no artifacts here)."""
    pruned = pruned_version_ids(db)
    if not refs:
        return [v for v in all_versions(db) if v.id not in pruned]
    chosen: dict[int, VersionInfo] = {}
    for ref in refs:
        if "@" not in ref:
            chosen.update((v.id, v) for v in list_versions(db, parse_ref(ref).name) if v.id not in pruned)
            continue
        v = resolve(db, parse_ref(ref))
        if v.id in pruned:
            raise ObjectNotFoundError(
                f"{v.ref} has no artifacts in this keep (gc pruned them)",
                hint=f"pull it from a remote that has it: modelkeep pull {v.ref}", name=v.name)
        chosen[v.id] = v
    return list(chosen.values())


def _record(db: Database, v: VersionInfo) -> dict[str, Any]:
    return {"format": RECORD_FORMAT, "version": 1, "name": v.name, "number": v.version,
            "created_at": v.created_at, "author": v.author, "tree_id": v.tree_id, "size": v.size,
            "files": v.files, "run_id": v.run_id, "metadata": version_metadata(db, v.id)}


def push_versions(db: Database, store: Any, remote: Remote, refs: Sequence[str], *,
                  trees: Sequence[str] = (), progress: Progress | None = None,
                  workers: int | None = None) -> SyncResult:
    """Send the versions' objects (and ``trees``, e.g. pinned pointer trees), then their records.

    ConflictError, before anything is sent, when the remote holds the same NAME@VERSION with
    other artifacts (two keeps registered different files under one number).
    """
    versions = versions_to_push(db, refs)
    on_remote: dict[str, set[str]] = {}
    for v in versions:
        if v.name not in on_remote:
            on_remote[v.name] = set(remote.list_names(f"versions/{v.name}"))
        if f"{v.version}.json" in on_remote[v.name]:
            theirs = _load(remote, v.name, v.version)
            if theirs["tree_id"] != v.tree_id:
                raise ConflictError(
                    f"remote '{remote.name}' already has {v.ref} with other artifacts "
                    f"(tree {theirs['tree_id'][:12]}, here {v.tree_id[:12]})",
                    hint="register a new version number here, then push that",
                    name=v.name, version=v.version, remote=remote.name)
    stats = push_objects(store, remote, [*(v.tree_id for v in versions), *trees],
                         progress=progress, workers=workers)
    for v in versions:
        if f"{v.version}.json" not in on_remote[v.name]:
            body = json.dumps(_record(db, v), sort_keys=True, allow_nan=True).encode()
            remote.write_bytes(record_path(v.name, v.version), body)
    for name in sorted(on_remote):
        history = [m.to_dict() for m in alias_history(db, name)]
        aliases = json.dumps({"format": ALIASES_FORMAT, "version": 1,
                              "aliases": current_aliases(db, name), "history": history},
                             sort_keys=True)
        remote.write_bytes(f"aliases/{name}.json", aliases.encode())
    sent, notes = push_records(db, remote, versions)  # after the version records they belong to
    return SyncResult(versions=sorted(v.ref for v in versions), transfer=stats, records=sent,
                      notes=notes)


def _load(remote: Remote, name: str, number: str) -> dict[str, Any]:
    rec = read_record(remote, name, number)
    if rec is None:
        raise VersionNotFoundError(
            f"{name}@{number} is neither in this keep nor on remote '{remote.name}'",
            hint=f"see what this keep has: modelkeep list {name}", name=name, version=number)
    return rec


def remote_record(remote: Remote, ref: str) -> dict[str, Any]:
    """The pushed record a reference names on the remote (number, 'latest' or an alias),
    validated (``remote_records``) before anything it names is opened."""
    r = parse_ref(ref)
    if r.is_version:
        return _load(remote, r.name, str(Version.parse(r.selector)))
    if r.selector == LATEST:
        numbers = remote_numbers(remote, r.name)
        top = latest(numbers) or latest(numbers, include_prerelease=True)
        if top is None:
            raise ModelNotFoundError(f"model '{r.name}' is neither in this keep nor on remote "
                                     f"'{remote.name}'", hint="check the name", name=r.name)
        return _load(remote, r.name, str(top))
    target = read_aliases(remote, r.name).get(r.selector)
    if not target:
        raise AliasNotFoundError(f"alias '{r.selector}' of {r.name} is set neither here nor on "
                                 f"remote '{remote.name}'", hint=f"modelkeep alias list {r.name}",
                                 name=r.name, alias=r.selector)
    return _load(remote, r.name, target)


def pull_versions(db: Database, store: Any, remote: Remote, refs: Sequence[str], *, author: str,
                  patterns: Sequence[str] | None = None, progress: Progress | None = None,
                  workers: int | None = None, tensor_patterns: Sequence[str] | None = None
                  ) -> SyncResult:
    """Fetch the objects of ``refs`` (only files matching ``patterns``), then register the
    versions this keep did not know; a complete pull restores a version gc had pruned."""
    local: list[VersionInfo] = []
    records: list[dict[str, Any]] = []
    for ref in refs:
        found = _choose(db, remote, ref)
        (local if isinstance(found, VersionInfo) else records).append(found)  # type: ignore[arg-type]
    trees = [v.tree_id for v in local] + [r["tree_id"] for r in records]
    with store.recording():  # gc's root set waits until the versions are recorded
        stats = pull_objects(store, remote, trees, patterns=patterns, progress=progress,
                             workers=workers, tensor_patterns=tensor_patterns)
        result = SyncResult(versions=sorted({v.ref for v in local} | {_ref(r) for r in records}),
                            transfer=stats)
        chosen = {_ref(r): r for r in records}.values()
        for rec in chosen:  # every record matches its tree before any is adopted
            check_against_tree(store, remote, rec)
        appended = fetch_records(remote, [*((v.name, v.version, v.created_at) for v in local),
                                          *((r["name"], r["number"], r["created_at"]) for r in chosen)])
        for rec in chosen:
            note = adopt_version(db, rec)
            result.registered.append(_ref(rec))
            if note:
                result.notes.append(note)
        for (name, number), theirs in sorted(appended.items()):
            version_id = resolve(db, parse_ref(f"{name}@{number}")).id
            result.records += adopt_records(db, version_id, theirs)
        for ref in refs:
            _adopt_alias(db, remote, parse_ref(ref))
        if patterns is None and tensor_patterns is None:
            pruned = pruned_version_ids(db)
            mark_versions(db, [v for v in local if v.id in pruned], "restored", author,
                          f"pulled from remote '{remote.name}'")
    return result


_UNKNOWN = (ModelNotFoundError, VersionNotFoundError, AliasNotFoundError)


def _adopt_alias(db: Database, remote: Remote, ref: Any) -> None:
    """After pulling NAME@ALIAS, set ALIAS here with the remote's history of it (remotes
    pushed before history was kept give one move, dated now)."""
    if ref.is_version or ref.selector == LATEST:
        return
    target, moves = read_alias_history(remote, ref.name, ref.selector)
    if not moves and target:
        from modelkeep.clock import now_iso

        moves = [{"version": target, "moved_at": now_iso(), "author": "",
                  "reason": f"pulled from remote '{remote.name}'"}]
    adopt_moves(db, ref.name, ref.selector, moves)


def _choose(db: Database, remote: Remote, ref: str) -> VersionInfo | dict[str, Any]:
    """The version ``ref`` names: known here, or a record on the remote. For ``latest`` the
    higher of the two wins (the remote may have newer versions); aliases set here win."""
    try:
        here: VersionInfo | None = resolve(db, parse_ref(ref))
    except _UNKNOWN:
        here = None
    if here is not None and parse_ref(ref).selector != LATEST:
        return here
    try:
        theirs = remote_record(remote, ref)
    except _UNKNOWN:
        if here is None:
            remote.check()  # a bucket or folder that does not exist is the remote's fault
            raise
        return here
    if here is not None and Version.parse(theirs["number"]) <= here.semver:
        return here
    try:
        return resolve(db, parse_ref(_ref(theirs)))
    except _UNKNOWN:
        return theirs


def _ref(rec: dict[str, Any]) -> str:
    return f"{rec['name']}@{rec['number']}"


def adopt_version(db: Database, rec: dict[str, Any]) -> str | None:
    """Register a pushed version here as it was registered at its origin (same number, author,
    time and snapshot); no bump rule applies, it is the same immutable version.

    ``rec`` is a validated record (``remote_records.read_record``). Runs do not travel with
    versions: a run id this keep does not know is not linked (the returned note says so).
    """
    v = Version.parse(rec["number"])
    run_id, note = rec["run_id"], None
    with db.write():
        db.execute("INSERT INTO models (name, created_at, author) VALUES (:n, :at, :a) "
                   "ON CONFLICT (name) DO NOTHING",
                   {"n": rec["name"], "at": rec["created_at"], "a": rec["author"]})
        model_id = db.scalar("SELECT id FROM models WHERE name = :n", {"n": rec["name"]})
        existing = db.scalar("SELECT tree_id FROM versions WHERE model_id = :m AND version = :v",
                             {"m": model_id, "v": str(v)})
        if existing is not None:
            if existing != rec["tree_id"]:
                raise ConflictError(f"{_ref(rec)} exists here with other artifacts",
                                    hint="the two keeps disagree; register a new number",
                                    name=rec["name"], version=str(v))
            return None
        if run_id is not None and db.scalar("SELECT 1 FROM runs WHERE uuid = :u", {"u": run_id}) is None:
            run_id, note = None, (f"{_ref(rec)}: its run {rec['run_id']} is in the keep that "
                                  "registered it, not here; adopted without a run")
        insert_version(db, int(model_id), rec["name"], v, created_at=rec["created_at"],
                       author=rec["author"], tree_id=rec["tree_id"], size=rec["size"],
                       files=rec["files"], run_id=run_id, metadata=redact_metadata(rec["metadata"]))
    return note


def register_tree(db: Database, name: str, tree: Any, *, author: str, version: str | None = None
                  ) -> VersionInfo:
    """Register an already stored tree (``tree.tree_id``, ``.bytes``, ``.files``) as a new
    version of ``name`` (import-lfs), with the usual numbering rules."""
    from modelkeep.registry.snapshot import build_snapshot
    from modelkeep.registry.versions import register_version

    def snapshot(chosen: str, created: str) -> dict[str, Any]:
        return build_snapshot(None, name=name, version=chosen, created=created, author=author,
                              tree_id=tree.tree_id, size=tree.bytes, params={}, metrics={})

    return register_version(db, name, tree_id=tree.tree_id, size=tree.bytes, files=tree.files,
                            author=author, snapshot=snapshot, version=version,
                            declared=frozenset())
