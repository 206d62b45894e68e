"""Dataset commands: list dataset versions, show one with the runs and model versions that used it."""

from __future__ import annotations

import click

from modelkeep.cli._output import emit_json, fields, human_size, json_option, open_keep, table


@click.group()
def datasets() -> None:
    """Dataset versions (stored trees) and which models were trained or evaluated on them."""


@datasets.command("list")
@click.argument("name", required=False)
@json_option
@click.pass_context
def list_cmd(ctx: click.Context, name: str | None, as_json: bool) -> None:
    """List dataset versions (or the versions of dataset NAME), newest first."""
    found = open_keep(ctx).datasets(name)
    if as_json:
        emit_json(found)
        return
    if not found:
        click.echo("No datasets yet. Log one: run.log_dataset(PATH) or "
                   "modelkeep run log --dataset PATH")
        return
    table(None, ["dataset", "name", "files", "size", "runs", "created"],
          [(d.tree_id[:12], d.name, d.files, human_size(d.size), d.runs, d.created_at[:19])
           for d in found])


@datasets.command("show")
@click.argument("ref", metavar="DATASET")
@json_option
@click.pass_context
def show(ctx: click.Context, ref: str, as_json: bool) -> None:
    """Show DATASET (tree id, prefix or name) with the runs and model versions that used it."""
    found = open_keep(ctx).dataset(ref)
    if as_json:
        emit_json(found)
        return
    fields([("dataset", found.tree_id), ("name", found.name),
            ("files", f"{found.files} ({human_size(found.size)})"),
            ("created", found.created_at), ("author", found.author)])
    if found.versions:
        click.echo("\nmodel versions:")
        table(None, ["version", "used for", "run", "registered"],
              [(v.ref, _usage(v.roles), (v.run or "-")[:8], v.created_at[:19])
               for v in found.versions])
    else:
        click.echo("\nno model version was trained or evaluated on it yet")
    if found.runs:
        click.echo("\nruns:")
        table(None, ["run", "name", "model", "role", "status", "source"],
              [(r.run[:8], r.name, r.model, r.role, r.status, r.source) for r in found.runs])


def _usage(roles: list[str]) -> str:
    words = {"train": "trained", "validation": "validated", "test": "tested"}
    return ", ".join(words.get(r, r) for r in roles) or "-"
