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


INTERRUPTED_EXIT = 130  # 128 + SIGINT, what shells report for Ctrl-C
_KEPT = {
    "register": "no version was registered and nothing half-written was left; run it again",
    "import": "no version was imported; objects already stored stay ('modelkeep gc' removes them)",
    "checkout": "files already restored are kept whole, the file being written was removed "
                "(no partial file); run it again to finish",
    "pull": "objects and files already fetched are kept whole (no partial file); pull again "
            "to fetch the rest",
    "push": "objects already sent stay on the remote; push again to send the rest",
    "add": "no pointer was written; objects already stored stay ('modelkeep gc' removes them)",
}


def report_interrupt(command: str | None) -> int:
    """Print what an interrupted ``command`` kept (Ctrl-C); return the exit code, 130."""
    kept = _KEPT.get(command or "", "nothing was left half-written; run the command again")
    click.echo(f"interrupted: {kept}", err=True)
    return INTERRUPTED_EXIT
