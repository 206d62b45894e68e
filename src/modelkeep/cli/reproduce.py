"""``modelkeep reproduce``: lay out what a version was made from; ``--run`` re-runs and compares."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from modelkeep.cli._output import (
    emit_json,
    format_value,
    json_option,
    open_keep,
    progress_bar,
    table,
)


@click.command()
@click.argument("ref")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--run", "rerun", is_flag=True,
              help="Re-run the pipeline in DEST as a tracked run and compare with the version.")
@click.option("--tolerance", type=float, default=1e-6, show_default=True,
              help="Relative difference a metric may show and still match (with --run).")
@click.option("--output", type=click.Path(path_type=Path), metavar="PATH",
              help="Folder (inside DEST) the pipeline writes the model to, compared with the "
                   "version's artifacts when the pipeline registers none (with --run).")
@click.option("--strict", is_flag=True,
              help="Refuse a version that lacks a part (code snapshot, datasets, ...).")
@click.option("--force", is_flag=True, help="Replace the contents of a non-empty DEST.")
@click.option("-r", "--remote", metavar="NAME",
              help="Remote to fetch missing objects from (default: the default remote).")
@json_option
@click.pass_context
def reproduce(ctx: click.Context, ref: str, dest: Path, rerun: bool, tolerance: float,
              output: Path | None, strict: bool, force: bool, remote: str | None,
              as_json: bool) -> None:
    """Lay out in DEST everything version REF was made from: code snapshot, datasets, pipeline
    files and command, hyperparameters, a requirements lock, and REPRODUCE.md."""
    keep = open_keep(ctx)
    # with --json the pipeline's own output goes to stderr: stdout is the report
    out = sys.stderr.buffer if as_json else sys.stdout.buffer
    with ExitStack() as bar:
        progress = bar.enter_context(progress_bar(f"reproduce {ref}"))

        def laid_out(layout: Any) -> None:
            bar.close()  # the bar goes before the pipeline's own output
            if not as_json:
                _show_layout(layout)

        report = keep.reproduce(
            ref, dest, remote=remote, force=force, strict=strict, run=rerun,
            tolerance=tolerance, output=output, progress=progress, stdout=out,
            stderr=sys.stderr.buffer, on_layout=laid_out,
            on_start=lambda rid: click.echo(f"modelkeep: run {rid} started in {dest}", err=True))
    if as_json:
        emit_json(report)
    elif report.check is None:
        click.echo(f"See {report.layout.dest}/REPRODUCE.md; re-run it with --run")
    else:
        _show_check(report)
    ctx.exit(report.exit_code)


def _show_layout(layout: Any) -> None:
    click.echo(f"Laid out {layout.ref} in {layout.dest}")
    table(None, ["what", "where", "stored id", "detail"],
          [(p.what, p.path, (p.id or "-")[:12], p.detail or "-") for p in layout.parts])
    for line in layout.missing:
        click.secho(f"missing: {line}", fg="yellow")
    sys.stdout.flush()  # before the pipeline's own output


def _show_check(report: Any) -> None:
    layout, check = report.layout, report.check
    counts: dict[str, list[int]] = {}
    for c in check.checks:
        counts.setdefault(c.kind, [0, 0])[0 if c.matches else 1] += 1
    summary = ", ".join(f"{kind}s {same}/{same + other} match"
                        for kind, (same, other) in counts.items())
    click.echo(f"run {check.run_id[:8]} {check.status}: {summary or 'nothing compared'}")
    for line in check.drifted:
        click.secho(f"drifted: {line}", fg="red")
    for line in check.environment:
        click.echo(f"note: {line}")
    if check.reproduced:
        click.secho(f"reproduced {layout.ref}: artifacts by id, metrics within "
                    f"{format_value(check.tolerance)} (relative)", fg="green")
