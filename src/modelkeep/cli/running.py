"""Running versions: ``predict`` (JSON in, JSON out) and ``bump`` (what a candidate needs)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from modelkeep.cli import _startup
from modelkeep.cli._output import emit_json, json_option, open_keep, progress_bar

if TYPE_CHECKING:
    from modelkeep.schema.metadata import ModelMetadata

F = TypeVar("F", bound=Callable[..., Any])
LOADER_HELP = ("How the version is called: python:MODULE:FUNC, onnx[:FILE], skops[:FILE], "
               "safetensors:MODULE:FUNC, pickle[:FILE] (docs/running.md).")
EXAMPLE_HELP = "JSON file in the artifacts holding an example input (.jsonl: one a line)."


def loader_options(command: F) -> F:
    """``--loader`` and ``--example-input``, shared by register and bump."""
    command = click.option("--example-input", "example_input", metavar="PATH",
                           help=EXAMPLE_HELP)(command)
    return click.option("--loader", metavar="KIND[:TARGET]", help=LOADER_HELP)(command)


def candidate_metadata(name: str, metadata_file: Path | None, loader: str | None,
                       example_input: str | None) -> ModelMetadata | None:
    """The metadata file (if any) with --loader and --example-input set over it."""
    meta = None
    if metadata_file is None and loader is None and example_input is None:
        return None  # the schema's models (pydantic) stay unloaded: register's fixed cost
    if metadata_file is not None:
        from modelkeep.schema import load_metadata

        meta = load_metadata(metadata_file)
    from modelkeep.schema.loading import with_loader

    found: ModelMetadata | None = with_loader(meta, name, loader, example_input)
    return found


@click.command()
@click.argument("ref")
@click.option("--input", "input_path", required=True, metavar="FILE",
              help="JSON file with the inputs, or - for standard input.")
@json_option
@click.pass_context
def predict(ctx: click.Context, ref: str, input_path: str, as_json: bool) -> None:
    """Run version REF on the JSON inputs in FILE and print its outputs as JSON.

    The version is loaded through its loader from a private, verified checkout; inputs are
    checked against its signature first. --json prints {ref, kind, outputs}.
    """
    if input_path == "-":
        data = sys.stdin.buffer.read()
    else:
        path = Path(input_path)
        if not path.is_file():
            from modelkeep.errors import PathNotFoundError

            raise PathNotFoundError(f"input file '{input_path}' does not exist",
                                    hint="give a JSON file, or - to read standard input",
                                    path=input_path)
        data = path.read_bytes()
    keep = open_keep(ctx)
    with _startup.collector_paused():  # the framework's import makes no garbage
        loaded = keep.load(ref)
    with loaded:  # printed before the checkout is removed
        result = loaded.prediction(data)
        if as_json:
            emit_json(result)
        else:
            click.echo(json.dumps(result.outputs, allow_nan=False))


@click.command()
@click.argument("name")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--metadata", "metadata_file", type=click.Path(path_type=Path),
              help="Metadata file the candidate would be registered with.")
@loader_options
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Hyperparameter.")
@json_option
@click.pass_context
def bump(ctx: click.Context, name: str, path: Path, metadata_file: Path | None,
         loader: str | None, example_input: str | None, params: tuple[str, ...],
         as_json: bool) -> None:
    """Print the bump PATH needs as the next version of NAME, and every reason.

    Nothing is registered (the files are stored, unreferenced, for a later register to
    reuse); the exit code is 0 whatever the bump.
    """
    from modelkeep._assignments import parse_assignments

    meta = candidate_metadata(name, metadata_file, loader, example_input)
    param_map = parse_assignments(list(params), "param")
    keep = open_keep(ctx)
    with progress_bar(f"reading {path.name}") as progress:
        report = keep.bump(name, path, metadata=meta, params=param_map, progress=progress)
    if as_json:
        emit_json(report)
        return
    if report.previous is None:
        click.echo(f"{name} has no versions yet: {path} would be {name}@{report.next_version}")
        return
    if report.unchanged:
        click.echo(f"{path} is identical to {name}@{report.previous}: register makes no new "
                   "version")
        return
    click.echo(f"{name}@{report.previous} -> {report.next_version}: needs a {report.required} bump")
    for kind, reason in sorted(report.reasons, key=lambda r: ("major", "minor", "patch").index(r[0])):
        click.echo(f"  {kind:5}  {reason}")
    if not report.reasons:
        click.echo("  patch  metadata only")
