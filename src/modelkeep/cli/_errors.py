"""The one place that turns a ModelkeepError into CLI output: message, hint, exit code."""

from __future__ import annotations

import json

import click

from modelkeep.errors import ModelkeepError


def report(exc: ModelkeepError, *, as_json: bool = False) -> int:
    """Print ``error: …`` and ``hint: …`` (or the JSON error shape with --json); return the code."""
    if as_json:
        click.echo(json.dumps(exc.to_dict()), err=True)
    else:
        message = " ".join(str(exc.message).split())  # one line, whatever the cause said
        click.secho(f"error: {message}", fg="red", err=True)
        if exc.hint:
            click.echo(f"hint: {exc.hint}", err=True)
    return exc.exit_code
