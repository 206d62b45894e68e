"""``modelkeep docs``: write a version's model card and changelog (stored with the version)."""

from __future__ import annotations

from pathlib import Path

import click

from modelkeep.cli._output import emit_json, json_option, open_keep


@click.command()
@click.argument("ref", metavar="NAME[@VERSION]")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), metavar="DIR",
              help="Folder to write CARD.md and CHANGELOG.md into (made when missing).")
@click.option("--force", is_flag=True, help="Replace CARD.md and CHANGELOG.md when they exist.")
@json_option
@click.pass_context
def docs(ctx: click.Context, ref: str, out: Path, force: bool, as_json: bool) -> None:
    """Write the model card and changelog of NAME@VERSION into DIR.

    A bare NAME writes the card of its latest version and the changelog of every version,
    newest first. Each document is stored with its version as a dated record when it changed
    since it was last stored, so `push` carries it to the remote.
    """
    result = open_keep(ctx).docs(ref, out, force=force)
    if as_json:
        emit_json(result)
        return
    stored = sum(len(v.stored) for v in result.versions)
    for path in result.written:
        click.echo(f"Wrote {path}")
    click.echo(f"card of {result.card_of}, changelog of {len(result.versions)} version(s); "
               f"{stored} document(s) stored as new records")
