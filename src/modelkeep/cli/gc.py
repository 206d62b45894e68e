"""``modelkeep gc``: delete the objects no kept version, dataset, run or pointer needs."""

from __future__ import annotations

import click

from modelkeep.cli._output import emit_json, human_size, json_option, open_keep, progress_bar


@click.command()
@click.option("--dry-run", is_flag=True, help="Print what would go and how many bytes; change nothing.")
@click.option("--grace", type=click.FloatRange(min=0), metavar="SECONDS",
              help="Never delete objects younger than this (default [gc] grace, 3600).")
@click.option("--keep-stable", type=click.IntRange(min=0), metavar="N",
              help="Stable versions kept per model besides aliased ones (default [gc] keep_stable).")
@click.option("--keep-all", is_flag=True, help="Keep the artifacts of every version and pointer.")
@click.option("--force", is_flag=True,
              help="Run even when the database records nothing but the store holds objects "
              "(a lost or wrong database: gc refuses without this).")
@json_option
@click.pass_context
def gc(ctx: click.Context, dry_run: bool, grace: float | None, keep_stable: int | None,
       keep_all: bool, force: bool, as_json: bool) -> None:
    """Delete unreachable objects; prune versions outside the retention policy.

    Kept: every aliased version, the newest stable versions of each model, the newest version
    of each model, recent ones, and what datasets, runs and live pointers need. A pruned
    version keeps its metadata; `modelkeep pull` brings its files back.
    """
    keep = open_keep(ctx)
    with progress_bar("gc") as progress:
        result = keep.gc(dry_run=dry_run, grace=grace, keep_stable=keep_stable, keep_all=keep_all,
                         force=force, progress=progress)
    if as_json:
        emit_json(result)
        return
    verb = "would delete" if dry_run else "deleted"
    plan = result.plan
    for v in plan.prune:
        click.echo(f"{'would prune' if dry_run else 'pruned'}  {v.ref}")
    for pin in result.pins_released:
        click.echo(f"{'would release' if dry_run else 'released'}  {pin}")
    s = result.sweep
    click.echo(f"{verb} {len(s.deleted)} objects ({human_size(s.bytes)}); kept {s.reachable} "
               f"reachable, {s.young} younger than the grace period; {len(plan.kept)} versions kept")
    if s.incomplete:
        click.echo(f"note: {len(s.incomplete)} root(s) are not fully present here "
                   "(partial pulls or damage): run 'modelkeep fsck'")
