"""Artifact commands: checkout, fsck."""

from __future__ import annotations

from pathlib import Path

import click

from modelkeep.cli._output import emit_json, human_size, json_option, open_keep, progress_bar


@click.command()
@click.argument("ref", required=False)
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path), required=False)
@click.option("--link", type=click.Choice(["auto", "copy", "reflink", "hardlink"]), default="auto",
              show_default=True,
              help="How files are placed: auto (reflink where the filesystem can, else copy), "
                   "copy, reflink, or hardlink (the file IS the stored object: root, as in most "
                   "containers, can edit it in place and so corrupt the store; only when asked).")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Hash every file as it is written; a corrupt object is refused and quarantined.")
@click.option("--include", "patterns", multiple=True, metavar="GLOB",
              help="Only files matching GLOB (repeatable).")
@click.option("--tensor", "tensors", multiple=True, metavar="GLOB",
              help="Of safetensors files, only the tensors whose names match GLOB (repeatable).")
@json_option
@click.pass_context
def checkout(ctx: click.Context, ref: str | None, dest: Path | None, link: str, verify: bool,
             patterns: tuple[str, ...], tensors: tuple[str, ...], as_json: bool) -> None:
    """Restore the files of version REF into folder DEST, byte for byte. With no REF, turn the
    .mk pointer files under the current folder back into files (from this keep's store)."""
    keep = open_keep(ctx)
    if ref is None:
        with progress_bar("restoring pointers") as progress:
            result = keep.restore_pointers(Path.cwd(), link=link, fetch=False,
                                           progress=progress)
        if as_json:
            emit_json(result)
        else:
            click.echo(f"Restored {len(result.restored)} pointer(s)")
            for path in result.restored:
                click.echo(f"  {path}")
        return
    if dest is None:
        raise click.UsageError("give a DEST folder to check REF out into")
    with progress_bar(f"checkout {ref}") as progress:
        stats = keep.checkout(ref, dest, link=link, patterns=list(patterns) or None,
                              tensor_patterns=list(tensors) or None, progress=progress,
                              verify=verify)
    if as_json:
        emit_json(stats)
        return
    click.echo(f"Checked out {ref} into {dest}: {stats.files_written} written, "
               f"{stats.files_skipped} unchanged, {human_size(stats.bytes_written)}")
    for path in stats.unverified:
        click.echo(f"  {path}: only some tensors, so not verified as a whole (each chunk was)")


@click.command()
@click.option("--repair", is_flag=True,
              help="Fetch corrupt (quarantined) and missing objects again from a remote.")
@click.option("--remote", default=None, metavar="NAME", help="The remote to repair from.")
@json_option
@click.pass_context
def fsck(ctx: click.Context, repair: bool, remote: str | None, as_json: bool) -> None:
    """Re-hash every stored object (moving corrupt ones to quarantine), check that manifests
    and trees describe their pieces, and name the versions any damage affects."""
    keep = open_keep(ctx)
    with progress_bar("checking objects") as progress:
        report = keep.fsck(progress=progress, repair=repair, remote=remote)
    if as_json:
        emit_json(report)
    else:
        click.echo(f"checked {report.checked} objects: {len(report.corrupt)} corrupt, "
                   f"{len(report.missing)} missing, {len(report.inconsistent)} inconsistent"
                   + (f", {len(report.repaired)} repaired" if repair else ""))
        for oid in report.repaired:
            click.echo(f"repaired {oid}")
        for oid in report.corrupt:
            click.echo(f"corrupt  {oid}")
        for oid in report.missing:
            click.echo(f"missing  {oid}")
        for oid in report.inconsistent:
            click.echo(f"inconsistent {oid}  (a manifest or tree that does not describe its pieces)")
        for ref in report.affected:
            click.echo(f"affected {ref}")
        if report.unrecorded:
            click.echo(f"the database records no versions, runs or datasets, but the store holds "
                       f"{report.unrecorded} objects: is it the keep's database? (a lost "
                       "database is restored from a backup; gc refuses to run until then)")
    if not report.ok:
        ctx.exit(5)
