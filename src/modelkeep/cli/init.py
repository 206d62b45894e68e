"""``modelkeep init``: make a keep (``.modelkeep/``) in a folder."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("path", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--database-url", metavar="URL",
              help="SQLAlchemy URL of a shared database (default: SQLite inside the keep).")
def init(path: Path, database_url: str | None) -> None:
    """Create a keep in PATH (default: the current folder)."""
    from modelkeep.keep import Keep

    keep = Keep.init(path, database_url=database_url)
    click.echo(f"Initialised empty keep in {keep.settings.keep_dir}")
