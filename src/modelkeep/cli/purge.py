"""``modelkeep purge``: delete the request and response payloads a gateway logged
(docs/privacy.md): the expired ones, those older than ``--before``, or all of them."""

from __future__ import annotations

import click

from modelkeep.cli._output import emit_json, json_option, open_keep


@click.command()
@click.option("--model", metavar="NAME", help="Only this model's payloads.")
@click.option("--before", metavar="TIME",
              help="Those stored before TIME: ISO 8601 (2026-12-01T12:00Z) or an age (30m, 12h, "
              "3d, 2w). Default: those older than the retention period.")
@click.option("--all", "everything", is_flag=True, help="Every payload, whatever its age.")
@json_option
@click.pass_context
def purge(ctx: click.Context, model: str | None, before: str | None, everything: bool,
          as_json: bool) -> None:
    """Delete logged payloads: expired ones (default), those before --before, or --all.

    On SQLite the deleted text is overwritten in the database file and the write-ahead log is
    truncated, so no copy stays on disk (backups made before a migration excepted).
    """
    result = open_keep(ctx).purge_payloads(model=model, before=before, everything=everything)
    if as_json:
        emit_json(result)
        return
    which = f" of {result.model}" if result.model else ""
    when = f" stored before {result.before}" if result.before else ""
    noun = "payload" if result.deleted == 1 else "payloads"
    click.echo(f"purged {result.deleted} {noun}{which}{when}")
