"""Run rows: create, find (by UUID or a unique prefix), end, params, tags, and killed detection.

A run is ``running`` until it ends ``finished``, ``failed`` or ``killed``. The process that
starts a run records its host, pid and process start time; where runs are read or written
(listing runs, reading a running run, starting one), a run still ``running`` whose owner on
this host is gone (pid dead, a zombie, or reused by a process that started at another time) is
marked ``killed``, ended at its last heartbeat (its last flush). Opening a keep marks nothing:
it only reads.
Runs started by ``modelkeep run start`` have no owner process and stay open until
``modelkeep run end``.
"""

from __future__ import annotations

import json
import os
import weakref
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any, Literal

from modelkeep._names import check_model_name
from modelkeep.clock import now_iso
from modelkeep.db.database import Database
from modelkeep.errors import InvalidInputError, RunNotActiveError, RunNotFoundError
from modelkeep.redact import redact_component, redact_text, redact_values
from modelkeep.tracking.values import check_name, param_number, param_scalar

Status = Literal["running", "finished", "failed", "killed"]
STATUSES: tuple[str, ...] = ("running", "finished", "failed", "killed")
END_STATUSES: tuple[str, ...] = STATUSES[1:]
# the tag ``reproduce --run`` sets on its run: NAME@VERSION being reproduced
REPRODUCES_TAG = "reproduces"

RUN_COLUMNS = ("id, uuid, model, name, status, author, started_at, ended_at, heartbeat_at, host, "
               "pid, environment_id, exit_code")


@dataclass(frozen=True)
class RunInfo:
    """One run's row (``id`` is the UUID; ``pk`` the integer key child tables use)."""

    pk: int
    id: str
    model: str | None
    name: str
    status: str
    author: str
    started_at: str
    ended_at: str | None
    heartbeat_at: str | None
    host: str
    pid: int | None
    environment_id: str | None
    exit_code: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (without the internal integer key)."""
        data = asdict(self)
        data.pop("pk")
        return data


def run_info(row: dict[str, Any]) -> RunInfo:
    """A RunInfo from a row of ``RUN_COLUMNS``."""
    row = dict(row)
    row["pk"], row["id"] = row.pop("id"), row.pop("uuid")
    return RunInfo(**row)


def host_name() -> str:
    """This machine's host name, as ``socket.gethostname()`` gives it (without importing
    socket, which every process that opens a keep would pay for)."""
    return os.uname().nodename


@cache
def _own_start_time(pid: int) -> float | None:
    return process_start_time(pid, cached=False)


def process_start_time(pid: int, *, cached: bool = True) -> float | None:
    """When process ``pid`` started (psutil's create time), None if it does not exist."""
    if cached and pid == os.getpid():
        return _own_start_time(pid)
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def create_run(db: Database, *, model: str | None, name: str | None, author: str,
               owned: bool = True) -> RunInfo:
    """Insert a new ``running`` run; ``owned`` records this process as its owner."""
    if model is not None:
        check_model_name(model)
    import uuid

    run_uuid = str(uuid.uuid4())
    if name is not None:
        check_name(name, "run")
    pid = os.getpid() if owned else None
    started = process_start_time(pid) if pid else None
    now = now_iso()
    row = {"uuid": run_uuid, "model": model, "name": name or f"{model or 'run'}-{run_uuid[:8]}",
           "author": author, "at": now, "host": host_name(), "pid": pid, "ps": started}
    with db.write():
        pk = db.scalar(
            "INSERT INTO runs (uuid, model, name, status, author, started_at, heartbeat_at, host, "
            "pid, proc_start) VALUES (:uuid, :model, :name, 'running', :author, :at, :at, :host, "
            ":pid, :ps) RETURNING id", row)
    if db not in _reaped:  # once per process and database: a sweep starts runs by the hundred
        _reaped.add(db)
        reap_dead_runs(db)
    return RunInfo(int(pk), run_uuid, model, str(row["name"]), "running", author, now, None, now,
                   str(row["host"]), pid, None, None)


def get_run(db: Database, ref: str) -> RunInfo:
    """A run by UUID or unique UUID prefix (at least 4 characters), like git."""
    ref = (ref or "").strip().lower()
    row = db.query_one(f"SELECT {RUN_COLUMNS} FROM runs WHERE uuid = :u", {"u": ref})
    if row is not None:
        return _alive_or_marked(db, run_info(row))
    rows = []
    if len(ref) >= 4 and all(c in "0123456789abcdef-" for c in ref):
        rows = db.query(f"SELECT {RUN_COLUMNS} FROM runs WHERE uuid LIKE :p LIMIT 2",
                        {"p": ref + "%"})
    if len(rows) == 1:
        return _alive_or_marked(db, run_info(rows[0]))
    if rows:
        raise InvalidInputError(
            f"run id '{ref}' is ambiguous: it starts more than one run",
            hint="give more characters of the run id (modelkeep runs list)", run=ref,
        )
    raise RunNotFoundError(f"run '{ref}' not found", hint="run 'modelkeep runs list' to see runs",
                           run=ref)


def require_running(info: RunInfo) -> None:
    """Raise RunNotActiveError unless ``info`` is running."""
    if info.status != "running":
        raise RunNotActiveError(
            f"run {info.id} has already ended ({info.status} at {info.ended_at})",
            hint="start a new run: modelkeep.start_run(...) or modelkeep run start",
            run=info.id, status=info.status,
        )


def end_run(db: Database, pk: int, status: str, *, at: str | None = None) -> bool:
    """Mark a running run ended with ``status``; False when it had already ended."""
    if status not in END_STATUSES:
        raise InvalidInputError(f"invalid run status '{status}'",
                                hint="use one of: " + ", ".join(END_STATUSES), status=status)
    with db.write():
        cur = db.execute(
            "UPDATE runs SET status = :s, ended_at = :at WHERE id = :pk AND status = 'running'",
            {"s": status, "at": at or now_iso(), "pk": pk},
        )
    return bool(cur.rowcount)


def _alive_or_marked(db: Database, info: RunInfo) -> RunInfo:
    """``info``, or as it is once marked killed when its owner process on this host is gone."""
    if info.status != "running" or info.pid is None or info.host != host_name():
        return info
    if info.id in reap_dead_runs(db):
        return get_run(db, info.id)
    return info


# databases whose dead runs this process has looked for when starting a run
_reaped: weakref.WeakSet[Database] = weakref.WeakSet()


def reap_dead_runs(db: Database) -> list[str]:
    """``mark_killed_runs`` where marking may write: never on a read-only keep, nor on a
    database whose schema is not this modelkeep's (a read there writes nothing)."""
    if db.schema_guard is not None or not db.writable:
        return []
    return mark_killed_runs(db)


def mark_killed_runs(db: Database) -> list[str]:
    """Mark ``killed`` every running run whose owner process on this host is gone."""
    rows = db.query(
        "SELECT id, uuid, pid, proc_start, heartbeat_at FROM runs "
        "WHERE status = 'running' AND host = :host AND pid IS NOT NULL",
        {"host": host_name()},
    )
    killed = []
    for r in rows:
        started = process_start_time(int(r["pid"]))
        if started is not None and (r["proc_start"] is None or abs(started - r["proc_start"]) < 0.05):
            continue
        if end_run(db, r["id"], "killed", at=r["heartbeat_at"]):
            killed.append(r["uuid"])
    return killed


def log_params(db: Database, pk: int, params: dict[str, Any]) -> None:
    """Record parameters; re-logging the same value is a no-op, a different value an error.
    String values of secret-named parameters (``api_key``) are recorded as ``***``."""
    clean = redact_values({check_name(k, "param"): param_scalar(k, v) for k, v in params.items()})
    with db.write():
        existing = {r["key"]: r["value_json"] for r in db.query(
            "SELECT key, value_json FROM run_params WHERE run_id = :pk", {"pk": pk})}
        rows = []
        for key, value in clean.items():
            text = json.dumps(value)
            if key in existing and existing[key] != text:
                raise InvalidInputError(
                    f"param '{key}' is already {existing[key]} in this run; got {text}. "
                    "Parameters are fixed once logged; nothing was changed",
                    hint="log the new value under another name, or start a new run", key=key,
                )
            if key not in existing:
                rows.append({"pk": pk, "k": key, "v": text, "n": param_number(value)})
        db.executemany(
            "INSERT INTO run_params (run_id, key, value_json, value_num) VALUES (:pk, :k, :v, :n) "
            "ON CONFLICT (run_id, key) DO NOTHING", rows)


def set_tags(db: Database, pk: int, tags: dict[str, Any]) -> None:
    """Set tags (text values; setting a tag again replaces its value)."""
    rows = [{"pk": pk, "k": check_name(k, "tag"), "v": str(v)} for k, v in tags.items()]
    with db.write():
        db.executemany(
            "INSERT INTO run_tags (run_id, key, value) VALUES (:pk, :k, :v) "
            "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value", rows)


def params_of(db: Database, pk: int) -> dict[str, Any]:
    """A run's parameters, typed as logged (secret-named strings masked, even in a run logged
    before modelkeep masked them)."""
    rows = db.query("SELECT key, value_json FROM run_params WHERE run_id = :pk ORDER BY key",
                    {"pk": pk})
    return redact_values({r["key"]: json.loads(r["value_json"]) for r in rows})


def tags_of(db: Database, pk: int) -> dict[str, str]:
    """A run's tags."""
    rows = db.query("SELECT key, value FROM run_tags WHERE run_id = :pk ORDER BY key", {"pk": pk})
    return {r["key"]: r["value"] for r in rows}


def set_model(db: Database, pk: int, model: str) -> None:
    """Name the model of a run that had none (a process attaching said which model it trains)."""
    check_model_name(model)
    with db.write():
        db.execute("UPDATE runs SET model = :m WHERE id = :pk AND model IS NULL",
                   {"m": model, "pk": pk})


def set_json_field(db: Database, pk: int, column: str, value: Any) -> None:
    """Write one of the run's JSON columns (code, pipeline, frameworks, command), secrets
    masked (command-line options named like secrets, URL passwords)."""
    if column not in ("code_json", "pipeline_json", "frameworks_json", "command_json"):
        raise ValueError(column)
    value = redact_component(column.removesuffix("_json"), value)
    with db.write():
        db.execute(f"UPDATE runs SET {column} = :v WHERE id = :pk",
                   {"v": json.dumps(value, sort_keys=True), "pk": pk})


def json_field(db: Database, pk: int, column: str) -> Any:
    """Read one of the run's JSON columns (None when unset; secrets masked even in a run
    recorded before modelkeep masked them)."""
    if column not in ("code_json", "pipeline_json", "frameworks_json", "command_json"):
        raise ValueError(column)
    raw = db.scalar(f"SELECT {column} FROM runs WHERE id = :pk", {"pk": pk})
    return redact_component(column.removesuffix("_json"), json.loads(raw)) if raw else None


def set_run_columns(db: Database, pk: int, **values: Any) -> None:
    """Set plain columns of a run: environment_id, exit_code, output_tail."""
    allowed = {"environment_id", "exit_code", "output_tail"}
    if not values or set(values) - allowed:
        raise ValueError(sorted(values))
    if isinstance(values.get("output_tail"), str):
        values["output_tail"] = redact_text(values["output_tail"])
    sets = ", ".join(f"{k} = :{k}" for k in values)
    with db.write():
        db.execute(f"UPDATE runs SET {sets} WHERE id = :pk", {**values, "pk": pk})
