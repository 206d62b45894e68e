"""Models and their immutable versions: register, list, resolve a reference."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from typing import Any

from modelkeep._names import check_model_name
from modelkeep.clock import now_iso
from modelkeep.db.database import Database
from modelkeep.errors import (
    InvalidInputError,
    InvalidVersionError,
    ModelNotFoundError,
    VersionExistsError,
    VersionNotFoundError,
    did_you_mean,
)
from modelkeep.redact import redact_metadata
from modelkeep.registry.refs import LATEST, Ref
from modelkeep.registry.semver import Bump, Version, latest, next_version

VERSION_COLUMNS = (
    "v.id, m.name, v.version, v.created_at, v.author, v.tree_id, v.size, v.files, v.run_id"
)


@dataclass(frozen=True)
class VersionInfo:
    """One registered version, without its (possibly large) metadata snapshot."""

    id: int
    name: str
    version: str
    created_at: str
    author: str
    tree_id: str
    size: int
    files: int
    run_id: str | None
    notes: tuple[str, ...] = ()  # what storing the files had to say (not stored in the db)
    unchanged: bool = False  # registering repeated this version: no new version was made

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def semver(self) -> Version:
        return Version.parse(self.version)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelSummary:
    """A model with its version count and highest release."""

    name: str
    created_at: str
    versions: int
    latest: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def model_id_of(db: Database, name: str) -> int:
    """The row id of model ``name``; ModelNotFoundError (with a near-miss hint) if unknown."""
    model_id = db.scalar("SELECT id FROM models WHERE name = :name", {"name": name})
    if model_id is None:
        names = [r["name"] for r in db.query("SELECT name FROM models")]
        suggestion = did_you_mean(name, names)
        raise ModelNotFoundError(
            f"model '{name}' not found" + (f"; {suggestion}" if suggestion else ""),
            hint="run 'modelkeep list' to see the registered models",
            name=name,
        )
    return int(model_id)


def _ensure_model(db: Database, name: str, author: str) -> int:
    db.execute(
        "INSERT INTO models (name, created_at, author) VALUES (:name, :at, :author) "
        "ON CONFLICT (name) DO NOTHING",
        {"name": name, "at": now_iso(), "author": author},
    )
    model_id = int(db.scalar("SELECT id FROM models WHERE name = :name", {"name": name}))
    db.lock_row("models", model_id)
    return model_id


def version_exists(name: str, version: str) -> VersionExistsError:
    """The error for registering a number that is taken (versions are immutable)."""
    return VersionExistsError(
        f"{name}@{version} already exists; registered versions are immutable",
        hint=f"register a new version, e.g. modelkeep register {name} PATH --bump patch",
        name=name,
        version=version,
    )


def _predecessor(existing: dict[Version, int], chosen: Version | None) -> Version | None:
    """The version a new one is compared with: the highest below it (or the highest of all)."""
    below = [v for v in existing if chosen is None or v < chosen]
    return max(below, key=Version.sort_key, default=None)


def choose_version(db: Database, existing: dict[Version, int], draft: dict[str, Any],
                   version: str | None, bump: Bump | None) -> Version:
    """The number for a new version, with SemVer meaning enforced.

    The changes from the predecessor (``changes.detect_changes``) decide the smallest bump
    allowed; an explicit ``version`` or ``bump`` below it is refused, and with neither the
    required bump is used. A model's first version is 1.0.0 unless a bump or number is given.
    """
    from modelkeep.registry.changes import detect_changes
    from modelkeep.registry.semver import ChangeSet, check_bump, required_bump

    if version is not None and bump is not None:
        raise InvalidInputError("give either --version or --bump, not both", hint="e.g. --bump minor")
    explicit = Version.parse(version) if version is not None else None
    previous = _predecessor(existing, explicit)
    required = None
    changes = ChangeSet()
    if previous is not None:
        changes = detect_changes(version_metadata(db, existing[previous]), draft)
        required = required_bump(changes)
    if explicit is not None:
        chosen = explicit
    elif not existing and bump is None:
        chosen = Version(1, 0, 0)  # a first version with no stated bump is a release
    else:
        chosen = next_version(existing, bump or required or "patch")
    if previous is not None and required is not None:
        check_bump(previous, chosen, required, changes.reasons_for(required))
    _refuse_equal_precedence(existing, chosen, required or "patch")
    return chosen


def _refuse_equal_precedence(existing: dict[Version, int], chosen: Version, bump: Bump) -> None:
    """Refuse a number with the precedence of any existing version but another spelling
    (``3.0.0+b`` beside ``3.0.0`` or ``3.0.0+a``): SemVer cannot order the two."""
    from modelkeep.registry.semver import compare

    same = sorted((v for v in existing if compare(v, chosen) == 0 and str(v) != str(chosen)),
                  key=Version.sort_key)
    if same:
        raise InvalidVersionError(
            f"invalid version '{chosen}': it has the same precedence as {same[0]} "
            "(build metadata does not count), so the two could not be ordered",
            hint=f"use --bump {bump} (gives {next_version(existing, bump)})",
            version=str(chosen),
            previous=str(same[0]),
        )


def register_version(
    db: Database,
    name: str,
    *,
    tree_id: str,
    size: int,
    files: int,
    author: str,
    snapshot: Any,
    version: str | None = None,
    bump: Bump | None = None,
    run_id: str | None = None,
    declared: frozenset[str] | None = None,
    allow_same: bool = True,
) -> VersionInfo:
    """Insert a new immutable version of ``name`` (creating the model on first use).

    ``snapshot(version, created_at) -> dict`` builds the metadata snapshot; it is called once
    with a placeholder number to see what changed, then with the chosen number.
    The whole read-choose-insert sequence holds the database write lock, so concurrent
    registrations never share a number and never lose a version.

    ``declared`` (the inheritable fields the caller's metadata gives; None: inherit nothing)
    turns on inheritance from the predecessor (``inheritance``). Unless ``allow_same``, a
    registration with no explicit ``version`` whose artifacts, run and metadata equal the
    model's latest version's makes no new version: that version is returned, ``unchanged``.
    """
    from modelkeep.registry.inheritance import inherit
    from modelkeep.registry.records import INHERIT_KEY, insert_record

    check_model_name(name)
    with db.write():
        model_id = _ensure_model(db, name, author)
        rows = db.query("SELECT id, version FROM versions WHERE model_id = :m", {"m": model_id})
        existing = {Version.parse(r["version"]): r["id"] for r in rows}
        created = now_iso()
        previous = _predecessor(existing, Version.parse(version) if version else None)
        previous_meta = version_metadata(db, existing[previous]) if previous else None
        draft = snapshot("0.0.0", created)
        inherited = inherit(previous_meta, draft, declared) if declared is not None else []
        if not allow_same and version is None and previous is not None:
            same = _same_version(db, existing[previous], tree_id, run_id, draft, previous_meta)
            if same is not None:
                return same
        chosen = choose_version(db, existing, draft, version, bump)
        if any(str(v) == str(chosen) for v in existing):
            raise version_exists(name, str(chosen))
        metadata = snapshot(str(chosen), created)
        if declared is not None:
            inherit(previous_meta, metadata, declared)
        info = insert_version(db, model_id, name, chosen, created_at=created, author=author,
                              tree_id=tree_id, size=size, files=files, run_id=run_id,
                              metadata=metadata)
        if inherited:
            insert_record(db, info.id, "inherit", INHERIT_KEY,
                          {"from": str(previous), "fields": inherited}, author, created)
    return info


_PER_REGISTRATION = ("id", "version", "created", "author")


def comparable_snapshot(snap: dict[str, Any]) -> str:
    """A snapshot as text without what each registration assigns (id, number, time, author),
    what it infers from the files (an inferred signature or fingerprint: equal files give
    equal ones), and absent values (null: a field this modelkeep added since, e.g. the loader,
    is the same fact as the field missing from a version registered before)."""
    identity = {k: v for k, v in snap.get("identity", {}).items() if k not in _PER_REGISTRATION}
    technical = {k: v for k, v in (snap.get("technical") or {}).items()
                 if not (isinstance(v, dict) and v.get("source") == "inferred")}
    return json.dumps(_without_nulls({**snap, "identity": identity, "technical": technical}),
                      sort_keys=True, allow_nan=True)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        kept = {k: _without_nulls(v) for k, v in value.items() if v is not None}
        return {k: v for k, v in kept.items() if v != {}}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _same_version(db: Database, version_id: int, tree_id: str, run_id: str | None,
                  draft: dict[str, Any], meta: dict[str, Any] | None) -> VersionInfo | None:
    """The version ``version_id``, marked unchanged, when a registration would repeat it:
    same artifacts, same run, same metadata but for the identity the registry assigns."""
    row = db.query_one(f"SELECT {VERSION_COLUMNS} FROM versions v JOIN models m "
                       "ON m.id = v.model_id WHERE v.id = :id", {"id": version_id})
    if row is None or row["tree_id"] != tree_id or (run_id and row["run_id"] != run_id):
        return None

    if meta is None or comparable_snapshot(meta) != comparable_snapshot(draft):
        return None
    return replace(_row_to_info(row), unchanged=True)


def insert_version(db: Database, model_id: int, name: str, version: Version, *, created_at: str,
                   author: str, tree_id: str, size: int, files: int, run_id: str | None,
                   metadata: dict[str, Any]) -> VersionInfo:
    """Insert one version row as given (the caller holds the write lock and has checked the
    number); registration and adopting a version pulled from a remote both end here."""
    new_id = db.scalar(
        "INSERT INTO versions (model_id, version, major, minor, patch, prerelease, "
        "created_at, author, tree_id, size, files, run_id, metadata_json) VALUES "
        "(:m, :v, :major, :minor, :patch, :pre, :at, :author, :tree, :size, :files, :run, "
        ":meta) RETURNING id",
        {
            "m": model_id, "v": str(version), "major": _column(version.major),
            "minor": _column(version.minor), "patch": _column(version.patch),
            "pre": ".".join(map(str, version.prerelease)),
            "at": created_at, "author": author, "tree": tree_id, "size": size,
            "files": files, "run": run_id,
            "meta": json.dumps(metadata, sort_keys=True, allow_nan=True),
        },
    )
    return VersionInfo(int(new_id), name, str(version), created_at, author, tree_id, size, files,
                       run_id)


def _column(number: int) -> int:
    """Version numbers have no size limit; the index columns saturate at int64 (the text decides)."""
    return min(number, 2**63 - 1)


def _row_to_info(row: dict[str, Any]) -> VersionInfo:
    return VersionInfo(**row)


def list_models(db: Database) -> list[ModelSummary]:
    """Every model with its version count and highest release, by name.

    Each model's count and top release are index seeks on (model_id, major, minor, patch), so
    this stays fast at any number of versions; versions equal but for build metadata are
    ordered by registration. A model with only pre-releases is settled in Python.
    """
    rows = db.query(
        "SELECT m.id, m.name, m.created_at, "
        "(SELECT COUNT(*) FROM versions c WHERE c.model_id = m.id) AS n, "
        "(SELECT t.version FROM versions t WHERE t.model_id = m.id AND t.prerelease = '' "
        "ORDER BY t.major DESC, t.minor DESC, t.patch DESC, t.id DESC LIMIT 1) AS top "
        "FROM models m ORDER BY m.name"
    )
    summaries = []
    for r in rows:
        top = r["top"]
        if top is None and r["n"]:
            versions = db.query("SELECT version FROM versions WHERE model_id = :m", {"m": r["id"]})
            best = latest([Version.parse(v["version"]) for v in versions], include_prerelease=True)
            top = str(best) if best else None
        summaries.append(ModelSummary(r["name"], r["created_at"], r["n"], top))
    return summaries


def list_versions(db: Database, name: str) -> list[VersionInfo]:
    """Every version of ``name`` in SemVer precedence order, lowest first."""
    model_id = model_id_of(db, name)
    rows = db.query(
        f"SELECT {VERSION_COLUMNS} FROM versions v JOIN models m ON m.id = v.model_id "
        "WHERE v.model_id = :m",
        {"m": model_id},
    )
    infos = [_row_to_info(r) for r in rows]
    return sorted(infos, key=lambda i: i.semver.sort_key())


def get_version(db: Database, name: str, version: str, at: str | None = None) -> VersionInfo:
    """One version by exact number (as of ``at``, when given)."""
    model_id = model_id_of(db, name)
    canonical = str(Version.parse(version))
    row = db.query_one(
        f"SELECT {VERSION_COLUMNS} FROM versions v JOIN models m ON m.id = v.model_id "
        "WHERE v.model_id = :m AND v.version = :v",
        {"m": model_id, "v": canonical},
    )
    if row is not None and at is not None and row["created_at"] > at:
        raise VersionNotFoundError(
            f"{name}@{canonical} did not exist yet at {at}: it was registered at "
            f"{row['created_at']}",
            hint=f"use a later --at, or see 'modelkeep list {name}'",
            name=name,
            version=canonical,
        )
    if row is None:
        known = [r["version"] for r in db.query(
            "SELECT version FROM versions WHERE model_id = :m", {"m": model_id})]
        suggestion = did_you_mean(canonical, known)
        raise VersionNotFoundError(
            f"{name}@{canonical} not found" + (f"; {suggestion}" if suggestion else ""),
            hint=f"run 'modelkeep list {name}' to see its versions",
            name=name,
            version=canonical,
        )
    return _row_to_info(row)


def latest_version(db: Database, name: str, at: str | None = None) -> VersionInfo:
    """The highest release of ``name`` (pre-releases only when nothing else exists)."""
    every = list_versions(db, name)
    candidates = [v for v in every if at is None or v.created_at <= at]
    releases = [v for v in candidates if not v.semver.is_prerelease] or candidates
    if not releases:
        raise VersionNotFoundError(
            f"{name} has no versions" + (f" at {at}" if at else ""),
            hint=(f"its first version came later: use a later --at (modelkeep list {name})" if every
                  else f"register one: modelkeep register {name} PATH"),
            name=name,
        )
    return releases[-1]


def resolve(db: Database, ref: Ref, at: str | None = None) -> VersionInfo:
    """The version a reference names: exact number, 'latest', or an alias (as of ``at``)."""
    if ref.is_version:
        return get_version(db, ref.name, ref.selector, at)
    if ref.selector == LATEST:
        return latest_version(db, ref.name, at)
    from modelkeep.registry.aliases import alias_target

    return alias_target(db, ref.name, ref.selector, at)


def version_metadata(db: Database, version_id: int) -> dict[str, Any]:
    """The metadata snapshot stored with a version when it was registered, secrets masked
    (show, export, diff and push read it here: a version registered before modelkeep masked
    secrets shows and sends none either)."""
    raw = db.scalar("SELECT metadata_json FROM versions WHERE id = :id", {"id": version_id})
    return redact_metadata(json.loads(raw)) if raw else {}
