"""``modelkeep schema``: print the metadata JSON Schema."""

from __future__ import annotations

import json

import click


@click.command()
def schema() -> None:
    """Print the JSON Schema of model version metadata."""
    from modelkeep.schema import json_schema

    click.echo(json.dumps(json_schema(), indent=2, sort_keys=True))
