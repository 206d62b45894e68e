"""``modelkeep migrate``: bring a keep's database to this modelkeep's schema.

The one way to migrate a shared (PostgreSQL) database; a SQLite keep also migrates itself at
its first write command after an upgrade. Either way the line saying what was done is drawn
here (the library only reports it through the ``on_migrate`` callback).
"""

from __future__ import annotations

from typing import Any

import click

from modelkeep.cli._output import emit_json, json_option, open_keep


def announce_migration(done: Any) -> None:
    """Tell the user, on stderr, that a write command migrated (and backed up) the keep."""
    click.echo(f"modelkeep: {done.describe()}", err=True)


@click.command()
@json_option
@click.pass_context
def migrate(ctx: click.Context, as_json: bool) -> None:
    """Migrate the keep's database to this modelkeep's schema (a SQLite file is backed up first)."""
    done = open_keep(ctx).migrate()
    if as_json:
        emit_json(done)
    else:
        click.echo(done.describe())
