"""Rollback drills in the keep's database: one appended ``drills`` row per drill (migration
0008), beside the deployment history the drill's own rollback and roll-forward wrote.

A drill's result is stored whole as JSON. The first drill that restored a version also stores
that version's reference outputs (its example inputs run through its own loader); every later
drill restoring it compares the gateway's answers with them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from modelkeep.clock import parse_duration
from modelkeep.db.database import Database
from modelkeep.errors import InvalidInputError
from modelkeep.registry.versions import model_id_of


@dataclass(frozen=True)
class Switch:
    """One move of all traffic to ``to``: seconds from the command to the first answer from
    ``to`` (``first``), and from that answer to the last one from any other version, after
    which every answer came from ``to`` (``full``; None: it never reached 100%)."""

    to: str
    first: float | None
    full: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DrillResult:
    """A rollback drill: rollback from ``stable`` to ``restored`` and roll-forward back, under
    ``rps`` requests per second; failed requests over the whole drill; whether the restored
    version's answers matched its reference outputs (None: it declares no example inputs)."""

    model: str
    gateway: str
    stable: str
    restored: str
    rps: float
    requests: int
    failed: int
    rollback: Switch
    forward: Switch
    outputs_match: bool | None
    outputs_checked: int
    reference_at: str  # when the reference outputs were recorded
    problems: tuple[str, ...] = ()
    id: int = 0
    at: str = ""
    author: str = ""

    @property
    def passed(self) -> bool:
        """No failed request, both switches complete, outputs as recorded."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rollback"], data["forward"] = self.rollback.to_dict(), self.forward.to_dict()
        data["problems"] = list(self.problems)
        data["passed"] = self.passed
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DrillResult:
        """The inverse of ``to_dict``."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**{**known, "rollback": Switch(**data["rollback"]),
                      "forward": Switch(**data["forward"]),
                      "problems": tuple(data.get("problems", ()))})


@dataclass(frozen=True)
class DrillReference:
    """A version's reference outputs: ``outputs[i]`` answers its ``i``-th example input."""

    ref: str
    outputs: tuple[Any, ...]
    at: str
    drill_id: int

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "outputs": list(self.outputs)}


@dataclass(frozen=True)
class DrillStatus:
    """How recent ``model``'s last drill is against ``[gateway] drill_max_age``; ``warning``
    says so when it is older (empty when fresh, and when the model was never drilled)."""

    model: str
    last: DrillResult | None
    max_age: float
    age: float | None
    warning: str = field(default="")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "last": self.last.to_dict() if self.last else None}


def record(db: Database, result: DrillResult, *, author: str, at: str,
           reference: list[Any] | None = None) -> DrillResult:
    """Append ``result`` (and ``reference``: the restored version's reference outputs, when
    this drill recorded them); the stored result, with its id."""
    stored = replace(result, at=at, author=author,
                     reference_at=at if reference is not None else result.reference_at)
    with db.write():
        model_id = model_id_of(db, result.model)
        db.execute(
            "INSERT INTO drills (model_id, at, author, restored, passed, result_json, "
            "reference_json) VALUES (:m, :at, :author, :restored, :passed, :result, :ref)",
            {"m": model_id, "at": at, "author": author, "restored": result.restored,
             "passed": stored.passed, "result": json.dumps(stored.to_dict()),
             "ref": None if reference is None else json.dumps(reference)})
        drill_id = int(db.scalar("SELECT MAX(id) FROM drills WHERE model_id = :m", {"m": model_id}))
    return replace(stored, id=drill_id)


def _result(row: Any) -> DrillResult:
    return replace(DrillResult.from_dict(json.loads(row["result_json"])), id=int(row["id"]))


def history(db: Database, name: str) -> list[DrillResult]:
    """Every drill of model ``name``, oldest first."""
    rows = db.query("SELECT id, result_json FROM drills WHERE model_id = :m ORDER BY id",
                    {"m": model_id_of(db, name)})
    return [_result(r) for r in rows]


def reference(db: Database, name: str, version: str) -> DrillReference | None:
    """The reference outputs recorded for ``name@version`` (None: not yet recorded)."""
    row = db.query_one("SELECT id, at, reference_json FROM drills WHERE model_id = :m AND "
                       "restored = :v AND reference_json IS NOT NULL ORDER BY id LIMIT 1",
                       {"m": model_id_of(db, name), "v": version})
    if row is None:
        return None
    return DrillReference(f"{name}@{version}", tuple(json.loads(row["reference_json"])),
                          row["at"], int(row["id"]))


def _age(at: str, now: datetime) -> float:
    then = datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return (now - then).total_seconds()


def status(db: Database, name: str, max_age: str, now: datetime | None = None) -> DrillStatus:
    """Model ``name``'s last drill against ``max_age`` (``[gateway] drill_max_age``, e.g. 7d)."""
    try:
        limit = parse_duration(max_age, "[gateway] drill_max_age")
    except InvalidInputError as exc:
        raise InvalidInputError(exc.message, hint="fix [gateway] drill_max_age in "
                                ".modelkeep/config.toml, e.g. \"7d\"") from None
    row = db.query_one("SELECT id, result_json FROM drills WHERE model_id = :m "
                       "ORDER BY id DESC LIMIT 1", {"m": model_id_of(db, name)})
    if row is None:
        return DrillStatus(name, None, limit, None)
    last = _result(row)
    age = _age(last.at, now or datetime.now(UTC))
    warning = ""
    if age > limit:
        warning = (f"the last rollback drill of {name} was {age / 86400:.1f} days ago "
                   f"(over drill_max_age {max_age}): run modelkeep drill {name}")
    return DrillStatus(name, last, limit, age, warning)
