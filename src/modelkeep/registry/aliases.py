"""Aliases (``production``, ``staging``, any name): append-only moves, so every past state is known."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass
from typing import Any

from modelkeep.clock import now_iso
from modelkeep.db.database import Database
from modelkeep.errors import AliasNotFoundError, did_you_mean
from modelkeep.registry.refs import check_alias_name
from modelkeep.registry.retention import lock_retention, refuse_pruned
from modelkeep.registry.versions import VERSION_COLUMNS, VersionInfo, get_version, model_id_of


@dataclass(frozen=True)
class AliasMove:
    """One move of an alias: it pointed to ``version`` (None: removed) from ``moved_at`` on."""

    alias: str
    version: str | None
    moved_at: str
    author: str
    reason: str

    @property
    def forced(self) -> bool:
        """Moved onto a protected alias without a passing validation (``--force``)."""
        from modelkeep.registry.validation.protection import FORCED_PREFIX

        return self.reason.startswith(FORCED_PREFIX)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "forced": self.forced}


def set_alias(db: Database, name: str, alias: str, version: str, author: str,
              reason: str = "", *, protected: Collection[str] = (), force: bool = False
              ) -> AliasMove:
    """Point ``alias`` of model ``name`` at ``version``, appending to its history.

    Refused when gc pruned the version's artifacts (``VersionPrunedError``); the check and the
    move hold the retention lock, so a gc deciding at the same time cannot slip in between.
    An alias in ``protected`` moves only onto a version whose latest validation passed
    (``ValidationRequiredError``), unless ``force`` with a reason (recorded as forced).
    """
    from modelkeep.registry.validation.protection import guarded_reason

    check_alias_name(alias)
    with db.write():
        lock_retention(db)
        target = get_version(db, name, version)
        refuse_pruned(db, target, f"point {name}@{alias} at {target.version}")
        reason = guarded_reason(db, target, alias, protected=alias in protected, force=force,
                                reason=reason)
        moved_at = now_iso()
        db.execute(
            "INSERT INTO alias_moves (model_id, alias, version_id, moved_at, author, reason) "
            "SELECT model_id, :alias, id, :at, :author, :reason FROM versions WHERE id = :vid",
            {"alias": alias, "at": moved_at, "author": author, "reason": reason,
             "vid": target.id},
        )
    return AliasMove(alias, target.version, moved_at, author, reason)


def remove_alias(db: Database, name: str, alias: str, author: str, reason: str = "") -> AliasMove:
    """Unset an alias (recorded as a move to nothing; history is kept)."""
    with db.write():
        alias_target(db, name, alias)  # raises when it is not set
        moved_at = now_iso()
        db.execute(
            "INSERT INTO alias_moves (model_id, alias, version_id, moved_at, author, reason) "
            "VALUES (:m, :alias, NULL, :at, :author, :reason)",
            {"m": model_id_of(db, name), "alias": alias, "at": moved_at, "author": author,
             "reason": reason},
        )
    return AliasMove(alias, None, moved_at, author, reason)


def alias_target(db: Database, name: str, alias: str, at: str | None = None) -> VersionInfo:
    """The version ``alias`` points to now, or pointed to at time ``at``."""
    model_id = model_id_of(db, name)
    row = db.query_one(
        "SELECT version_id FROM alias_moves WHERE model_id = :m AND alias = :a "
        + ("AND moved_at <= :at " if at else "")
        + "ORDER BY id DESC LIMIT 1",
        {"m": model_id, "a": alias, "at": at},
    )
    if row is None or row["version_id"] is None:
        known = current_aliases(db, name)
        suggestion = did_you_mean(alias, known)
        when = f" at {at}" if at else ""
        raise AliasNotFoundError(
            f"alias '{alias}' of {name} is not set{when}"
            + (f"; {suggestion}" if suggestion else ""),
            hint=f"run 'modelkeep alias list {name}' or 'modelkeep alias set {name} {alias} "
            "VERSION'",
            name=name,
            alias=alias,
        )
    target = db.query_one(
        f"SELECT {VERSION_COLUMNS} FROM versions v JOIN models m ON m.id = v.model_id "
        "WHERE v.id = :id",
        {"id": row["version_id"]},
    )
    return VersionInfo(**target)  # type: ignore[arg-type]


def current_aliases(db: Database, name: str) -> dict[str, str]:
    """alias -> version for every alias of ``name`` that is set now."""
    model_id = model_id_of(db, name)
    rows = db.query(
        "SELECT a.alias, v.version FROM alias_moves a LEFT JOIN versions v ON v.id = a.version_id "
        "WHERE a.id IN (SELECT MAX(id) FROM alias_moves WHERE model_id = :m GROUP BY alias) "
        "ORDER BY a.alias",
        {"m": model_id},
    )
    return {r["alias"]: r["version"] for r in rows if r["version"] is not None}


def alias_history(db: Database, name: str, alias: str | None = None) -> list[AliasMove]:
    """Every move of ``alias`` (or of all aliases), oldest first, with who and when."""
    model_id = model_id_of(db, name)
    rows = db.query(
        "SELECT a.alias, v.version, a.moved_at, a.author, a.reason FROM alias_moves a "
        "LEFT JOIN versions v ON v.id = a.version_id WHERE a.model_id = :m "
        + ("AND a.alias = :a " if alias else "")
        + "ORDER BY a.id",
        {"m": model_id, "a": alias},
    )
    if alias and not rows:
        raise AliasNotFoundError(
            f"alias '{alias}' of {name} has no history",
            hint=f"run 'modelkeep alias list {name}'",
            name=name,
            alias=alias,
        )
    return [AliasMove(**r) for r in rows]


def aliases_by_version(db: Database, name: str) -> dict[str, list[str]]:
    """version -> the aliases pointing at it now."""
    out: dict[str, list[str]] = {}
    for alias, version in current_aliases(db, name).items():
        out.setdefault(version, []).append(alias)
    return out


def adopt_moves(db: Database, name: str, alias: str, moves: list[dict[str, Any]]) -> int:
    """Record another keep's history of ``alias`` here (pull), with its original times,
    authors and reasons; return the moves recorded.

    An alias with any history here is this keep's own and is left alone. Moves to versions
    this keep does not have are left out (a move must point at a version here); a removal
    is kept once a move before it was.
    """
    check_alias_name(alias)
    with db.write():
        model_id = model_id_of(db, name)
        if db.scalar("SELECT 1 FROM alias_moves WHERE model_id = :m AND alias = :a",
                     {"m": model_id, "a": alias}):
            return 0
        ids = {r["version"]: r["id"] for r in db.query(
            "SELECT id, version FROM versions WHERE model_id = :m", {"m": model_id})}
        recorded = 0
        for move in sorted(moves, key=lambda m: str(m.get("moved_at"))):
            version = move.get("version")
            if (version is None and not recorded) or (version is not None and version not in ids):
                continue
            db.execute(
                "INSERT INTO alias_moves (model_id, alias, version_id, moved_at, author, reason) "
                "VALUES (:m, :alias, :vid, :at, :author, :reason)",
                {"m": model_id, "alias": alias, "vid": ids.get(version) if version else None,
                 "at": str(move["moved_at"]), "author": str(move.get("author") or ""),
                 "reason": str(move.get("reason") or "")})
            recorded += 1
    return recorded
