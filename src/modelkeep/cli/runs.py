"""Run commands: ``run start/log/end/exec`` write to a run; ``runs list/show/compare/metrics`` read.

A run id may be abbreviated to a unique prefix, like a git commit. ``run log``, ``run end`` and
``run exec`` use ``--run`` or else ``MODELKEEP_RUN_ID`` (which ``run start`` tells you to export).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from modelkeep.cli._output import (
    emit_json,
    fields,
    format_value,
    json_option,
    open_keep,
    table,
    write_output,
)

RUN_HELP = "Run id or unique prefix (default: MODELKEEP_RUN_ID)."


def _run_ref(ref: str | None) -> str:
    from modelkeep import config
    from modelkeep.errors import InvalidInputError

    found = ref or config.env("MODELKEEP_RUN_ID")
    if not found:
        raise InvalidInputError("no run given", hint="pass --run ID or export MODELKEEP_RUN_ID "
                                "(modelkeep run start prints it)")
    return found


def _pairs(items: tuple[str, ...], what: str) -> dict[str, str]:
    from modelkeep._assignments import parse_assignments

    return parse_assignments(list(items), what)


def _metric_points(items: tuple[str, ...]) -> list[tuple[str, float, int | None]]:
    """``loss=0.3`` or ``loss=0.3@12`` -> (name, value, step); checked before anything is logged."""
    from modelkeep.errors import InvalidMetricError
    from modelkeep.interface import check_name

    points = []
    for item in items:  # the same name may come several times (several steps)
        key, raw = next(iter(_pairs((item,), "metric").items()))
        text, at, step = raw.rpartition("@") if "@" in raw else (raw, "", "")
        try:
            value = float(text)
            step_number = int(step) if at else None
        except ValueError:
            raise InvalidMetricError(
                f"invalid metric '{key}={raw}': expected NAME=NUMBER or NAME=NUMBER@STEP",
                hint="e.g. --metric loss=0.25@100 (nan and inf are allowed)", key=key,
            ) from None
        points.append((check_name(key), value, step_number))
    return points


# -- writing -------------------------------------------------------------------------------


@click.group()
def run() -> None:
    """Start, log to, end, or wrap a training run."""


@run.command("start")
@click.option("--model", help="Model the run trains.")
@click.option("--name", help="Run name (default: MODEL-<id prefix>).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Hyperparameter.")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Tag.")
@click.option("--no-capture", is_flag=True, help="Do not record environment and Git state.")
@json_option
@click.pass_context
def start(ctx: click.Context, model: str | None, name: str | None, params: tuple[str, ...],
          tags: tuple[str, ...], no_capture: bool, as_json: bool) -> None:
    """Start a run that stays open until 'modelkeep run end'; prints its id."""
    from modelkeep._assignments import param_value

    param_map = {k: param_value(v) for k, v in _pairs(params, "param").items()}
    tag_map = _pairs(tags, "tag")
    keep = open_keep(ctx)
    handle = keep.start_run(model, name, params=param_map, tags=tag_map, capture=not no_capture,
                            owned=False)
    handle.close()
    if as_json:
        emit_json(handle.info)
        return
    click.echo(handle.id)
    click.echo(f"export MODELKEEP_RUN_ID={handle.id}", err=True)


@run.command("log")
@click.option("--run", "run_id", metavar="ID", help=RUN_HELP)
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Hyperparameter.")
@click.option("--metric", "metrics", multiple=True, metavar="KEY=NUMBER[@STEP]", help="Metric point.")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Tag.")
@click.option("--dataset", "dataset_paths", multiple=True, type=click.Path(path_type=Path),
              help="Dataset file or folder.")
@click.option("--role", type=click.Choice(["train", "validation", "test"]), default="train",
              show_default=True, help="Role of the --dataset paths.")
@click.option("--artifact", "artifacts", multiple=True, type=click.Path(path_type=Path),
              help="File or folder the run produced.")
@click.pass_context
def log(ctx: click.Context, run_id: str | None, params: tuple[str, ...], metrics: tuple[str, ...],
        tags: tuple[str, ...], dataset_paths: tuple[Path, ...], role: str,
        artifacts: tuple[Path, ...]) -> None:
    """Log params, metrics, tags, datasets or artifacts to a running run."""
    from modelkeep._assignments import param_value

    param_map = {k: param_value(v) for k, v in _pairs(params, "param").items()}
    points = _metric_points(metrics)
    tag_map = _pairs(tags, "tag")
    keep = open_keep(ctx)
    handle = keep.start_run(run_id=_run_ref(run_id), capture=False)
    try:
        if param_map:
            handle.log_params(param_map)
        for name, value, step in points:
            handle.log_metric(name, value, step)
        if tag_map:
            handle.set_tags(tag_map)
        for path in dataset_paths:
            ds = handle.log_dataset(path, role=role)
            click.echo(f"dataset {ds['name']} ({role}) tree {ds['tree'][:12]}")
        for path in artifacts:
            art = handle.log_artifact(path)
            click.echo(f"artifact {art['name']} tree {art['tree_id'][:12]}")
    finally:
        handle.close()
    logged = len(param_map) + len(points) + len(tag_map)
    if logged:
        click.echo(f"logged {logged} value(s) to run {handle.id[:8]}")


@run.command("end")
@click.option("--run", "run_id", metavar="ID", help=RUN_HELP)
@click.option("--status", type=click.Choice(["finished", "failed", "killed"]), default="finished",
              show_default=True)
@click.pass_context
def end(ctx: click.Context, run_id: str | None, status: str) -> None:
    """End a running run."""
    keep = open_keep(ctx)
    info = keep.run(_run_ref(run_id))
    keep.end_run(info.id, status, strict=True)
    click.echo(f"run {info.id[:8]} {status}")


@run.command("exec", context_settings={"ignore_unknown_options": True})
@click.option("--model", help="Model the run trains.")
@click.option("--name", help="Run name.")
@click.option("--run", "run_id", metavar="ID", help="Attach to this run instead of starting one.")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Tag.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def exec_cmd(ctx: click.Context, model: str | None, name: str | None, run_id: str | None,
             tags: tuple[str, ...], command: tuple[str, ...]) -> None:
    """Run COMMAND under a run: its environment, exit status and output tail are recorded.

    Use '--' before the command: modelkeep run exec --model bert -- python train.py
    """
    from modelkeep import config
    from modelkeep.redact import redact_argv

    tag_map = _pairs(tags, "tag")
    keep = open_keep(ctx)
    attach = run_id or config.env("MODELKEEP_RUN_ID")
    handle = (keep.start_run(model, run_id=attach, capture=False) if attach
              else keep.start_run(model, name))
    if tag_map:
        handle.set_tags(tag_map)
    click.echo(f"modelkeep: run {handle.id} started: {' '.join(redact_argv(command))}", err=True)
    try:
        result = keep.exec_run(handle.id, command, stdout=sys.stdout.buffer,
                               stderr=sys.stderr.buffer)
    except BaseException:
        handle.close("failed" if handle.owner else None)
        raise
    handle.close(result.status if handle.owner else None)
    click.echo(f"modelkeep: run {handle.id[:8]} {result.status} (exit {result.returncode}, "
               f"{result.seconds:.1f} s)", err=True)
    ctx.exit(result.exit_code)


# -- reading -------------------------------------------------------------------------------


@click.group()
def runs() -> None:
    """List, show and compare runs; export a metric's history."""


@runs.command("list")
@click.option("--model", help="Only runs of this model.")
@click.option("--status", type=click.Choice(["running", "finished", "failed", "killed"]))
@click.option("--param", "params", multiple=True, metavar="KEY[OP]VALUE",
              help="Param filter, e.g. lr=0.001 or 'epochs>=3'.")
@click.option("--metric", "metrics", multiple=True, metavar="NAME OP NUMBER",
              help="Final-metric filter, e.g. 'acc>0.9' (repeat for a range).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many runs.")
@json_option
@click.pass_context
def list_cmd(ctx: click.Context, model: str | None, status: str | None, params: tuple[str, ...],
             metrics: tuple[str, ...], limit: int | None, as_json: bool) -> None:
    """List runs, newest first."""
    from modelkeep.interface import parse_condition

    found = open_keep(ctx).runs(model=model, status=status, params=params, metrics=metrics,
                                limit=limit)
    if as_json:
        emit_json(found)
        return
    if not found:
        click.echo("No runs match." if params or metrics or model or status else
                   "No runs yet. Start one: modelkeep run start --model NAME")
        return
    pkeys = list(dict.fromkeys(parse_condition(p, "param").key for p in params))
    mkeys = list(dict.fromkeys(parse_condition(m, "metric").key for m in metrics))
    table(None, ["run", "name", "model", "status", "started", *pkeys, *mkeys],
          [(r.info.id[:8], r.info.name, r.info.model, r.info.status, r.info.started_at[:19],
            *(r.params.get(k) for k in pkeys), *(r.metrics.get(k) for k in mkeys))
           for r in found])


@runs.command("show")
@click.argument("run_id", metavar="RUN")
@json_option
@click.pass_context
def show(ctx: click.Context, run_id: str, as_json: bool) -> None:
    """Show everything recorded about RUN."""
    view = open_keep(ctx).run_view(run_id)
    if as_json:
        emit_json(view)
        return
    env = view.environment or {}
    code = view.code or {}
    info = view.info
    fields([
        ("run", info.id), ("name", info.name), ("model", info.model),
        ("status", info.status), ("started", info.started_at), ("ended", info.ended_at),
        ("author", info.author), ("host", info.host),
        ("command", " ".join(view.command or []) or None),
        ("exit code", info.exit_code),
        ("git", " ".join(filter(None, [code.get("commit", "")[:12] if code.get("commit") else None,
                                       code.get("branch"), "(dirty)" if code.get("dirty") else None,
                                       code.get("repository")])) or None),
        ("code snapshot", code.get("snapshot")),
        ("python", (env.get("python") or {}).get("version")),
        ("os", (env.get("os") or {}).get("platform")),
        ("cpu", f"{(env.get('cpu') or {}).get('model')} ({(env.get('cpu') or {}).get('logical_cores')} "
                "cores)" if env else None),
        ("gpus", ", ".join(g["name"] for g in env.get("gpus", [])) or None),
        ("frameworks", ", ".join(f"{k} {v}" for k, v in sorted(view.frameworks.items())) or None),
        ("versions", ", ".join(view.versions) or None),
    ])
    _section("params", list(view.params.items()))
    _section("tags", list(view.tags.items()))
    if view.metrics:
        click.echo("\nmetrics:")
        table(None, ["name", "last", "step", "points"],
              [(m["name"], m["last_value"], m["last_step"], m["points"]) for m in view.metrics])
    for d in view.datasets:
        click.echo(f"\ndataset {d['name']} ({d['role']}) tree {d['tree'][:12]}  {d['source'] or ''}")
    for a in view.artifacts:
        click.echo(f"artifact {a['name']} tree {a['tree_id'][:12]}")
    if view.output_tail:
        click.echo("\noutput (last lines):\n" + view.output_tail)


def _section(title: str, pairs: list[tuple[str, Any]]) -> None:
    if pairs:
        click.echo(f"\n{title}:")
        fields(pairs)


@runs.command("compare")
@click.argument("run_ids", nargs=-1, required=True, metavar="RUN RUN...")
@click.option("--all", "show_all", is_flag=True, help="Also show values that are the same.")
@json_option
@click.pass_context
def compare(ctx: click.Context, run_ids: tuple[str, ...], show_all: bool, as_json: bool) -> None:
    """Params and final metrics of several runs side by side; changed values marked '*'."""
    result = open_keep(ctx).compare_runs(run_ids)
    if as_json:
        emit_json(result)
        return
    from rich.console import Console
    from rich.table import Table

    out = Table(show_edge=False, header_style="bold")
    out.add_column("")
    for r in result.runs:
        out.add_column(f"{r.id[:8]} {r.name}")
    for kind, rows, changed in (("params", result.params, set(result.changed_params)),
                                ("metrics", result.metrics, set(result.changed_metrics))):
        for key, values in rows.items():
            if key in changed or show_all:
                style = "bold yellow" if key in changed else None
                mark = "* " if key in changed else "  "
                out.add_row(f"{mark}{kind[:-1]} {key}", *(format_value(v) for v in values),
                            style=style)
    Console(width=None if sys.stdout.isatty() else 200).print(out)
    if not (result.changed_params or result.changed_metrics):
        click.echo("params and final metrics are the same")


@runs.command("metrics")
@click.argument("run_id", metavar="RUN")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="File to write.")
@click.option("--plot", is_flag=True, help="Draw a sparkline of the metric over steps.")
@click.option("--width", type=click.IntRange(min=8), default=60, show_default=True)
@click.pass_context
def metrics(ctx: click.Context, run_id: str, name: str, fmt: str, output: Path | None, plot: bool,
            width: int) -> None:
    """Export the history of metric NAME of RUN (CSV or JSON), or plot it."""
    history = open_keep(ctx).metric_history(run_id, name)
    if plot:
        s = history.summary()
        click.echo(f"{name}  {history.sparkline(width)}")
        click.echo(f"steps {s.first_step}..{s.last_step}  points {s.points}  "
                   f"min {format_value(s.min)}  max {format_value(s.max)}  "
                   f"last {format_value(s.last)}" + (f"  NaN {s.nan}" if s.nan else ""))
        if output is None:
            return
    text = history.to_csv() if fmt == "csv" else history.to_json() + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    write_output(output, text.encode())
    click.echo(f"Wrote {len(history)} points to {output}", err=True)
