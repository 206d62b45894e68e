"""Reading runs: list with filters, the full view of one run, and a side-by-side comparison.

Filters are SQL ``EXISTS`` terms on indexed tables: a param filter on ``run_params`` (numbers
compare numerically, so ``lr=1e-3`` matches 0.001; text compares exactly), a metric filter on
the latest value of a series kept in ``metric_keys``. A NaN metric is stored as NULL, so
``loss=nan`` finds it and no ordering test (``loss<1``) does, as IEEE comparisons behave.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from modelkeep._assignments import param_value
from modelkeep.db.database import Database
from modelkeep.errors import InvalidInputError
from modelkeep.redact import redact_text
from modelkeep.storage.objects import ObjectStore
from modelkeep.tracking import runs
from modelkeep.tracking.artifacts import run_artifacts
from modelkeep.tracking.datasets import run_datasets
from modelkeep.tracking.environment import shown_environment
from modelkeep.tracking.metrics import final_metrics, series_of
from modelkeep.tracking.values import Condition, parse_condition
from modelkeep.tracking.views import RunComparison, RunSummary, RunView

_CHUNK = 500


def _param_term(i: int, cond: Condition, args: dict[str, Any]) -> str:
    args[f"pk{i}"] = cond.key
    value = param_value(cond.value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        args[f"pv{i}"] = float(value)
        test = f"p.value_num {cond.sql_op} :pv{i}"
    elif cond.sql_op in ("=", "<>"):
        args[f"pv{i}"] = json.dumps(value)
        test = f"p.value_json {cond.sql_op} :pv{i}"
    else:
        raise InvalidInputError(f"param filter '{cond.key}{cond.op}{cond.value}' compares text "
                                "with an order", hint="use = or != for text parameters")
    return f"EXISTS (SELECT 1 FROM run_params p WHERE p.run_id = r.id AND p.key = :pk{i} AND {test})"


def _metric_term(i: int, cond: Condition, args: dict[str, Any]) -> str:
    args[f"mk{i}"] = cond.key
    number = cond.number
    assert number is not None
    if math.isnan(number):
        if cond.sql_op not in ("=", "<>"):
            raise InvalidInputError(f"metric filter '{cond.key}{cond.op}nan' has no meaning",
                                    hint="use name=nan or name!=nan")
        test = "k.last_value IS NULL" if cond.sql_op == "=" else "k.last_value IS NOT NULL"
    else:
        args[f"mv{i}"] = number
        test = f"k.last_value {cond.sql_op} :mv{i}"
    return ("EXISTS (SELECT 1 FROM metric_keys k WHERE k.run_id = r.id AND k.name = :mk"
            f"{i} AND k.last_step IS NOT NULL AND {test})")


def list_runs(db: Database, *, model: str | None = None, status: str | None = None,
              params: Sequence[str] = (), metrics: Sequence[str] = (),
              limit: int | None = None, details: bool = True) -> list[RunSummary]:
    """Runs newest first, filtered; each with its params and final metrics when ``details``."""
    if status is not None and status not in runs.STATUSES:
        raise InvalidInputError(f"invalid status '{status}'",
                                hint="use one of: " + ", ".join(runs.STATUSES))
    runs.reap_dead_runs(db)  # a listing shows runs whose owner died as killed, not running
    terms, args = ["1 = 1"], {}
    if model:
        terms.append("r.model = :model")
        args["model"] = model
    if status:
        terms.append("r.status = :status")
        args["status"] = status
    terms += [_param_term(i, parse_condition(t, "param"), args) for i, t in enumerate(params)]
    terms += [_metric_term(i, parse_condition(t, "metric"), args) for i, t in enumerate(metrics)]
    sql = (f"SELECT {runs.RUN_COLUMNS} FROM runs r WHERE " + " AND ".join(terms)
           + " ORDER BY r.started_at DESC, r.id DESC")
    if limit:
        sql += f" LIMIT {int(limit)}"
    found = [runs.run_info(row) for row in db.query(sql, args)]
    out = [RunSummary(info) for info in found]
    if details and found:
        by_pk = {row.info.pk: row for row in out}
        pks = list(by_pk)
        for start in range(0, len(pks), _CHUNK):
            chunk = pks[start:start + _CHUNK]
            marks = ", ".join(f":r{i}" for i in range(len(chunk)))
            ids = {f"r{i}": pk for i, pk in enumerate(chunk)}
            for p in db.query(f"SELECT run_id, key, value_json FROM run_params WHERE run_id IN "
                              f"({marks})", ids):
                by_pk[p["run_id"]].params[p["key"]] = json.loads(p["value_json"])
            for m in db.query(f"SELECT run_id, name, last_value FROM metric_keys WHERE run_id IN "
                              f"({marks}) AND last_step IS NOT NULL", ids):
                value = m["last_value"]
                by_pk[m["run_id"]].metrics[m["name"]] = math.nan if value is None else value
    return out


def run_view(db: Database, store: ObjectStore, info: runs.RunInfo, *,
             environment: bool = True) -> RunView:
    """Everything known about a run: params, tags, metrics, datasets, code, versions, ..."""
    shown = None
    if environment and info.environment_id and store.has(info.environment_id):
        shown = shown_environment(json.loads(store.get_bytes(info.environment_id)))
    return RunView(
        info=info,
        params=runs.params_of(db, info.pk),
        tags=runs.tags_of(db, info.pk),
        metrics=series_of(db, info.pk),
        datasets=run_datasets(db, info.pk),
        artifacts=run_artifacts(db, info.pk),
        code=runs.json_field(db, info.pk, "code_json"),
        pipeline=runs.json_field(db, info.pk, "pipeline_json"),
        command=runs.json_field(db, info.pk, "command_json"),
        frameworks=runs.json_field(db, info.pk, "frameworks_json") or {},
        output_tail=redact_text(db.scalar("SELECT output_tail FROM runs WHERE id = :pk",
                                          {"pk": info.pk}) or "") or None,
        versions=[f"{r['name']}@{r['version']}" for r in db.query(
            "SELECT m.name, v.version FROM versions v JOIN models m ON m.id = v.model_id "
            "WHERE v.run_id = :u ORDER BY v.id", {"u": info.id})],
        environment=shown,
    )


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b and type(a) is type(b))


def compare_runs(db: Database, infos: Sequence[runs.RunInfo]) -> RunComparison:
    """Params and final metrics of several runs side by side, with the keys that differ."""
    if len(infos) < 2:
        raise InvalidInputError("compare needs at least two runs", hint="modelkeep runs compare A B")
    params = [runs.params_of(db, i.pk) for i in infos]
    metrics = [final_metrics(db, i.pk) for i in infos]

    def table(maps: list[dict[str, Any]]) -> tuple[dict[str, list[Any]], list[str]]:
        """key -> one value per run, and the keys whose values differ."""
        keys = sorted(set().union(*maps))
        rows = {k: [m.get(k) for m in maps] for k in keys}
        changed = [k for k, vs in rows.items() if not all(_same(vs[0], v) for v in vs[1:])]
        return rows, changed

    param_rows, param_changed = table(params)
    metric_rows, metric_changed = table(metrics)
    return RunComparison(list(infos), param_rows, metric_rows, param_changed, metric_changed)
