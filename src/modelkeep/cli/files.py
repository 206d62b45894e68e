"""Git-friendly file commands: add (pointer files), export-lfs and import-lfs."""

from __future__ import annotations

from pathlib import Path

import click

from modelkeep.cli._output import emit_json, human_size, json_option, open_keep, progress_bar


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--sha256", is_flag=True, help="Also compute and keep each file's SHA-256 (LFS, the Hub).")
@json_option
@click.pass_context
def add(ctx: click.Context, paths: tuple[Path, ...], sha256: bool, as_json: bool) -> None:
    """Store each file or folder and write a PATH.mk pointer beside it (for Git).

    The path is also added to .gitignore, so the Git repository holds only the pointer;
    `modelkeep pull` turns pointers back into files.
    """
    keep = open_keep(ctx, near=paths[0])
    done = []
    for path in paths:
        with progress_bar(f"adding {path.name}") as progress:
            added = keep.add(path, progress=progress, sha256=sha256)
        done.append(added)
        if not as_json:
            click.echo(f"Added {path} -> {added.pointer_path.name} ({added.pointer.files} "
                       f"file(s), {human_size(added.pointer.size)})")
    if as_json:
        emit_json(done)


@click.command("export-lfs")
@click.argument("source", metavar="NAME@VERSION|POINTER.mk")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--objects", type=click.Path(file_okay=False, path_type=Path),
              help="Git LFS object folder (default: .git/lfs/objects of DEST's repository).")
@json_option
@click.pass_context
def export_lfs(ctx: click.Context, source: str, dest: Path, objects: Path | None,
               as_json: bool) -> None:
    """Write Git LFS pointer files for SOURCE's files into DEST, and their objects.

    Each file's SHA-256 is computed once and kept; DEST/.gitattributes gets the LFS lines.
    """
    keep = open_keep(ctx, near=Path(source).resolve().parent if source.endswith(".mk")
                     else Path.cwd())
    with progress_bar("export-lfs") as progress:
        report = keep.export_lfs(source, dest, objects=objects, progress=progress)
    if as_json:
        emit_json(report)
        return
    click.echo(f"Wrote {report.files} Git LFS pointer(s) into {dest}; "
               f"{report.objects_written} object(s) written ({human_size(report.bytes)})")


@click.command("import-lfs")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--objects", type=click.Path(file_okay=False, path_type=Path),
              help="Git LFS object folder (default: .git/lfs/objects of SOURCE's repository).")
@click.option("--name", metavar="NAME", required=True, help="Register the result as a version of NAME.")
@click.option("--version", "version", metavar="X.Y.Z", help="Version number (with --name).")
@json_option
@click.pass_context
def import_lfs(ctx: click.Context, source: Path, objects: Path | None, name: str,
               version: str | None, as_json: bool) -> None:
    """Register a Git LFS checkout as a version of NAME, each pointer replaced by its object.

    Every LFS object's SHA-256 and size are checked before anything of it is stored.
    """
    keep = open_keep(ctx, near=Path.cwd())
    with progress_bar("import-lfs") as progress:
        report = keep.import_lfs(source, objects=objects, name=name, version=version,
                                 progress=progress)
    if as_json:
        emit_json(report)
        return
    click.echo(f"Imported {report.files} file(s), {report.lfs_files} from Git LFS "
               f"({human_size(report.bytes)}), tree {report.tree_id}")
    if report.version:
        click.echo(f"Registered {report.version}")
