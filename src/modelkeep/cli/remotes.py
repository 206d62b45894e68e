"""Remote commands: push, pull, and ``remote add/list/remove``."""

from __future__ import annotations

from pathlib import Path

import click

from modelkeep.cli._output import emit_json, human_size, json_option, open_keep, progress_bar, table
from modelkeep.interface import KeepInterface

REMOTE_HELP = "Remote to use (default: MODELKEEP_REMOTE, the only one configured, or origin)."


@click.command()
@click.argument("refs", nargs=-1, metavar="[NAME[@VERSION]]...")
@click.option("-r", "--remote", "remote", metavar="NAME", help=REMOTE_HELP)
@click.option("--all-versions", is_flag=True,
              help="Also every state a .mk pointer ever named (Git history of every branch, and "
                   "older pins), so a clone can pull any commit. Use this in a pre-push hook.")
@json_option
@click.pass_context
def push(ctx: click.Context, refs: tuple[str, ...], remote: str | None, all_versions: bool,
         as_json: bool) -> None:
    """Send versions to a remote: only the objects it lacks, then their records.

    With no REFS, every version (and the tree each `modelkeep add` pointer names now) is
    pushed; a bare NAME pushes all versions of that model.
    """
    keep = open_keep(ctx)
    with progress_bar("push") as progress:
        result = keep.push(list(refs), remote=remote, all_versions=all_versions, progress=progress)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    if as_json:
        emit_json(result)
        return
    t = result.transfer
    click.echo(f"Pushed {len(result.versions)} version(s): sent {t.objects} objects "
               f"({human_size(t.bytes)}), {t.present} already there; "
               f"{result.records} appended record(s)")
    if result.history_trees is not None:
        click.echo(f"{result.history_trees} pointer state(s) found in Git history; "
                   f"{len(result.trees_not_here)} not in this keep (not sent)")


@click.command()
@click.argument("refs", nargs=-1, metavar="[NAME@VERSION]...")
@click.option("-r", "--remote", "remote", metavar="NAME", help=REMOTE_HELP)
@click.option("--include", "patterns", multiple=True, metavar="GLOB",
              help="Only the files matching GLOB (repeatable): a partial pull.")
@click.option("--tensor", "tensors", multiple=True, metavar="GLOB",
              help="Of safetensors files, only the chunks of tensors matching GLOB (repeatable).")
@click.option("--link", type=click.Choice(["auto", "copy", "reflink", "hardlink"]), default="auto",
              show_default=True,
              help="How restored pointer files are placed (as for checkout; hardlink only when "
                   "asked: root can edit the stored object through the file).")
@json_option
@click.pass_context
def pull(ctx: click.Context, refs: tuple[str, ...], remote: str | None, patterns: tuple[str, ...],
         tensors: tuple[str, ...], link: str, as_json: bool) -> None:
    """Fetch versions from a remote (registering those this keep lacks).

    With no REFS, turn the `.mk` pointer files under the current folder back into files,
    fetching from the remote only what this keep lacks.
    """
    keep = open_keep(ctx)
    if not refs:
        _pull_pointers(keep, remote, link, as_json)
        return
    with progress_bar("pull") as progress:
        result = keep.pull(list(refs), remote=remote, patterns=list(patterns) or None,
                           tensor_patterns=list(tensors) or None, progress=progress)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    if as_json:
        emit_json(result)
        return
    t = result.transfer
    click.echo(f"Pulled {', '.join(result.versions)}: received {t.objects} objects "
               f"({human_size(t.bytes)}), {t.present} already here; "
               f"{result.records} appended record(s) added")
    for ref in result.registered:
        click.echo(f"registered {ref}")


def _pull_pointers(keep: KeepInterface, remote: str | None, link: str, as_json: bool) -> None:
    with progress_bar("pull") as progress:
        result = keep.restore_pointers(Path.cwd(), remote=remote, link=link, empty_ok=False,
                                       progress=progress)
    if as_json:
        emit_json(result)
        return
    if result.transfer is not None:
        click.echo(f"received {result.transfer.objects} objects "
                   f"({human_size(result.transfer.bytes)})")
    click.echo(f"Restored {len(result.restored)} pointer(s)")


@click.group()
def remote() -> None:
    """Add, list and remove remotes (local/NFS paths, s3://, gs://, az://)."""


@remote.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--endpoint-url", metavar="URL", help="S3-compatible server (MinIO, Ceph, R2...).")
@click.option("--region", metavar="REGION", help="S3 region.")
@click.option("--profile", metavar="NAME", help="AWS profile holding the credentials.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Any other fsspec storage option (repeatable).")
@click.pass_context
def add_cmd(ctx: click.Context, name: str, url: str, endpoint_url: str | None, region: str | None,
            profile: str | None, options: tuple[str, ...]) -> None:
    """Add remote NAME at URL to the keep's config.toml."""
    from modelkeep._assignments import param_value, parse_assignments
    from modelkeep.errors import InvalidInputError

    extra = {k: param_value(v) for k, v in parse_assignments(list(options), "option").items()}
    named = {"endpoint_url": endpoint_url, "region": region, "profile": profile}
    for key, value in named.items():
        if value is not None and key in extra:
            raise InvalidInputError(f"'{key}' given twice: as --{key.replace('_', '-')} and as --option",
                                    hint=f"give it once: --{key.replace('_', '-')} VALUE")
        extra.setdefault(key, value)
    keep = open_keep(ctx)
    keep.add_remote(name, url, **extra)
    click.echo(f"Added remote {name}: {keep.remotes()[name].url}")


@remote.command("list")
@json_option
@click.pass_context
def list_cmd(ctx: click.Context, as_json: bool) -> None:
    """List the configured remotes (credentials shown as ***)."""
    remotes = open_keep(ctx).remotes()
    if as_json:
        emit_json(remotes)
    elif not remotes:
        click.echo("No remotes. Add one: modelkeep remote add origin s3://bucket/prefix")
    else:
        rows = [(n, r.url, ", ".join(f"{k}={v}" for k, v in r.options.items()))
                for n, r in sorted(remotes.items())]
        table(None, ["name", "url", "options"], rows)


@remote.command("remove")
@click.argument("name")
@click.pass_context
def remove_cmd(ctx: click.Context, name: str) -> None:
    """Remove remote NAME from config.toml (nothing on the remote is deleted)."""
    open_keep(ctx).remove_remote(name)
    click.echo(f"Removed remote {name}")
