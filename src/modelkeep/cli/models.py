"""Model and version commands: register, list, show, diff, export, import, note, metric."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from modelkeep.cli._output import (
    emit_json,
    fields,
    format_value,
    human_size,
    json_option,
    open_keep,
    progress_bar,
    table,
    write_output,
)
from modelkeep.cli.running import candidate_metadata, loader_options

if TYPE_CHECKING:
    from modelkeep.interface import KeepInterface
    from modelkeep.registry.records import VersionRecord

AT_HELP = "Answer as of this UTC time (ISO 8601, e.g. 2026-03-18T14:30Z)."


def _at(value: str | None) -> str | None:
    from modelkeep.clock import parse_timestamp

    return parse_timestamp(value) if value else None


@click.command()
@click.argument("name")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option("--hosted", "hosted", type=click.Path(path_type=Path), metavar="SPEC",
              help="Register a hosted model (provider, model id, parameters, price) from a "
                   "YAML/JSON spec instead of files: docs/hosted.md.")
@click.option("--bump", type=click.Choice(["major", "minor", "patch"]),
              help="Next version by bumping the highest one (default: the smallest bump the "
                   "changes since the previous version need; 1.0.0 for a first version).")
@click.option("--version", "version", metavar="X.Y.Z", help="Exact version to register.")
@click.option("--metadata", "metadata_file", type=click.Path(path_type=Path),
              help="Metadata file (.json, .yaml/.yml or .pb).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Hyperparameter.")
@click.option("--metric", "metrics", multiple=True, metavar="KEY=NUMBER", help="Metric.")
@click.option("--allow-same", is_flag=True,
              help="Register a new version even when files and metadata equal the latest one's.")
@loader_options
@json_option
@click.pass_context
def register(ctx: click.Context, name: str, path: Path | None, hosted: Path | None,
             bump: str | None, version: str | None,
             metadata_file: Path | None, params: tuple[str, ...], metrics: tuple[str, ...],
             allow_same: bool, loader: str | None, example_input: str | None,
             as_json: bool) -> None:
    """Store PATH (file or folder) as a new immutable version of model NAME.

    Metadata not given again (description, tags, signature, framework, deployment) is
    inherited from the previous version; params and metrics are this version's own. Files and
    metadata identical to the latest version make no new version (exit 0).
    """
    from modelkeep._assignments import parse_assignments

    if (path is None) == (hosted is None):
        raise click.UsageError("give PATH (files to store) or --hosted SPEC, not both or neither")
    if hosted is not None:
        register_hosted(ctx, name, hosted, bump, version, metadata_file, allow_same, as_json)
        return
    assert path is not None
    meta = candidate_metadata(name, metadata_file, loader, example_input)
    param_map = parse_assignments(list(params), "param")
    metric_map = parse_assignments(list(metrics), "metric")
    keep = open_keep(ctx)
    with progress_bar(f"storing {path.name}") as progress:
        info = keep.register(name, path, version=version, bump=bump,  # type: ignore[arg-type]
                             metadata=meta, params=param_map, metrics=metric_map,
                             progress=progress, allow_same=allow_same)
    for note in info.notes:
        click.echo(f"note: {note}", err=True)
    if as_json:
        emit_json(info)
        return
    if info.unchanged:
        click.echo(f"{path} is identical to {info.ref} (files and metadata): no new version "
                   "registered (--allow-same registers one anyway)")
        return
    click.echo(f"Registered {info.ref} ({info.files} files, {human_size(info.size)}, "
               f"tree {info.tree_id[:12]})")


def register_hosted(ctx: click.Context, name: str, spec: Path, bump: str | None,
                    version: str | None, metadata_file: Path | None, allow_same: bool,
                    as_json: bool) -> None:
    """``register NAME --hosted SPEC``: the spec checked and stored as the version."""
    meta = candidate_metadata(name, metadata_file, None, None)
    info = open_keep(ctx).register_hosted(name, spec, version=version, bump=bump,  # type: ignore[arg-type]
                                          metadata=meta, allow_same=allow_same)
    if as_json:
        emit_json(info)
    elif info.unchanged:
        click.echo(f"{spec} is the spec of {info.ref}: no new version registered")
    else:
        click.echo(f"Registered {info.ref} (hosted, spec {spec.name})")


@click.command("list")
@click.argument("name", required=False)
@json_option
@click.pass_context
def list_cmd(ctx: click.Context, name: str | None, as_json: bool) -> None:
    """List models, or the versions of model NAME."""
    keep = open_keep(ctx)
    if name is None:
        models = keep.models()
        if as_json:
            emit_json(models)
        elif not models:
            click.echo("No models yet. Register one: modelkeep register NAME PATH")
        else:
            table(None, ["model", "versions", "latest", "created"],
                  [(m.name, m.versions, m.latest, m.created_at) for m in models])
        return
    from modelkeep.registry.views import VersionListing

    rows = keep.versions(name)
    aliases: dict[str, list[str]] = {}
    for alias, version in keep.aliases(name).items():
        aliases.setdefault(version, []).append(alias)
    if as_json:
        emit_json([VersionListing(v, aliases.get(v.version, [])) for v in rows])
        return
    table(f"versions of {name}", ["version", "aliases", "files", "size", "created", "author"],
          [(v.version, ", ".join(aliases.get(v.version, [])), v.files, human_size(v.size),
            v.created_at, v.author) for v in rows])


@click.command()
@click.argument("ref")
@click.option("--at", "at", metavar="TIME", help=AT_HELP)
@json_option
@click.pass_context
def show(ctx: click.Context, ref: str, at: str | None, as_json: bool) -> None:
    """Show a version: NAME@VERSION, NAME@ALIAS, NAME@latest (or NAME)."""
    view = open_keep(ctx).show(ref, _at(at))
    if as_json:
        emit_json(view)
        return
    info = view.info
    fields([
        ("version", info.ref),
        ("aliases", ", ".join(view.aliases) or "-"),
        ("created", info.created_at),
        ("author", info.author),
        ("files", f"{info.files} ({human_size(info.size)})"),
        ("tree", info.tree_id),
        ("run", info.run_id),
    ])
    technical = _technical_rows(view.metadata)
    if technical:
        click.echo()
        fields(technical)
    if view.inherited:
        click.echo(f"\ninherited from {info.name}@{view.inherited['from']} (not given again):")
        click.echo("  " + ", ".join(view.inherited["fields"]))
    for title, mapping in (("hyperparameters", view.params), ("metrics", view.metrics)):
        if mapping:
            click.echo(f"\n{title}:")
            fields(sorted(mapping.items()))
    if view.records:
        click.echo("\nappended:")
        for r in view.records:
            click.echo(f"  {r.created_at}  {r.kind:6}  {_record_text(r)}  ({r.author})")


def _record_text(record: VersionRecord) -> str:
    """One appended record in a line: a validation by its verdict, not its whole report; a
    document by its size (`modelkeep docs` writes it out)."""
    value = record.value
    if record.kind in ("model_card", "changelog"):
        return f"{record.key} = {len(str(value).splitlines())} lines of Markdown"
    if record.kind == "validation" and isinstance(value, dict):
        checks = value.get("checks") or []
        failed = [c.get("name") for c in checks if isinstance(c, dict) and not c.get("passed")]
        verdict = "passed" if value.get("passed") is True else f"FAILED ({', '.join(map(str, failed))})"
        return (f"{verdict}: {len(checks)} checks, policy {value.get('policy')} "
                f"{str(record.key)[:12]}")
    return f"{record.key} = {format_value(value)}"


def _technical_rows(meta: dict) -> list[tuple[str, str]]:
    """The loader, signature and fingerprint lines, each saying where it came from."""
    technical = meta.get("technical") or {}
    rows = []
    loader = technical.get("loader") or {}
    if loader.get("kind"):
        target = loader.get("entry_point") or loader.get("file") or ""
        rows.append(("loader", f"{loader['kind']}{':' + target if target else ''}"))
    for key in ("signature", "fingerprint"):
        value = technical.get(key) or {}
        if key == "signature":
            text = "; ".join(f"{side} " + ", ".join(
                f"{s['name']} {s['dtype']}{s['shape'] if s.get('shape') is not None else ''}"
                for s in value.get(side) or []) for side in ("inputs", "outputs") if value.get(side))
        else:
            text = (value.get("value") or "")[:16]
        if text:
            source = (f"inferred from {value.get('inferred_from')}"
                      if value.get("source") == "inferred" else "declared")
            rows.append((f"{key} ({source})", text))
    return rows


@click.command()
@click.argument("ref_a")
@click.argument("ref_b")
@json_option
@click.pass_context
def diff(ctx: click.Context, ref_a: str, ref_b: str, as_json: bool) -> None:
    """What changed from REF_A to REF_B: params, metrics, metadata, files."""
    result = open_keep(ctx).diff(ref_a, ref_b)
    if as_json:
        emit_json(result)
        return
    click.echo(f"diff {result.a} -> {result.b}")
    if result.empty:
        click.echo("no differences")
        return
    for title, changes in (("params", result.params), ("metrics", result.metrics),
                           ("metadata", result.metadata)):
        if changes:
            table(title, ["key", result.a, result.b],
                  [(c.key, c.old, c.new) for c in changes])
    for mark, paths in (("+", result.files_added), ("-", result.files_removed),
                        ("~", result.files_changed)):
        for p in paths:
            click.echo(f"{mark} {p}")


@click.command()
@click.argument("ref")
@click.option("--format", "fmt", type=click.Choice(["json", "yaml", "proto"]), default=None,
              help="modelkeep's own metadata format (default: json).")
@click.option("--as", "standard", metavar="FORMAT",
              help="A standard format instead: mlmodel, hf-card, cyclonedx or openlineage.")
@click.option("-o", "--output", "--out", "output", type=click.Path(path_type=Path),
              help="File to write (default: stdout).")
@click.option("--force", is_flag=True, help="With --as: replace the --out file when it exists.")
@click.pass_context
def export(ctx: click.Context, ref: str, fmt: str | None, standard: str | None,
           output: Path | None, force: bool) -> None:
    """Export a version's metadata (JSON, YAML, protobuf), or the version in a standard format
    with --as: an MLflow MLmodel file, a Hugging Face model card, a CycloneDX ML-BOM or
    OpenLineage run events."""
    if standard is not None and fmt is not None:
        raise click.UsageError("--format and --as exclude each other: give one")
    keep = open_keep(ctx)
    if standard is not None:
        _export_standard(keep, ref, standard, output, force)
        return
    fmt = fmt or "json"
    data = keep.export(ref, fmt)
    if output is None:
        if fmt == "proto" and sys.stdout.isatty():
            raise click.UsageError("proto output is binary: use -o FILE")
        sys.stdout.buffer.write(data)
        return
    write_output(output, data)
    click.echo(f"Wrote {output} ({len(data)} bytes)", err=True)


def _export_standard(keep: KeepInterface, ref: str, standard: str, output: Path | None, force: bool) -> None:
    data = keep.export_as(ref, standard, output, force=force)
    if output is None:
        sys.stdout.buffer.write(data)
        return
    click.echo(f"Wrote {output} ({standard}, {len(data)} bytes)", err=True)


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--artifacts", type=click.Path(path_type=Path),
              help="Folder or file holding the artifacts (default: already in the store).")
@click.option("--name", help="Register under another model name.")
@json_option
@click.pass_context
def import_cmd(ctx: click.Context, file: Path, artifacts: Path | None, name: str | None,
               as_json: bool) -> None:
    """Register a version from an exported metadata FILE (json, yaml or proto)."""
    keep = open_keep(ctx)
    with progress_bar("importing") as progress:
        info = keep.import_metadata(file, artifacts=artifacts, name=name, progress=progress)
    if as_json:
        emit_json(info)
        return
    click.echo(f"Imported {info.ref}")


@click.command()
@click.argument("ref")
@click.argument("text")
@click.pass_context
def note(ctx: click.Context, ref: str, text: str) -> None:
    """Append a dated note to a version (the version itself never changes)."""
    record = open_keep(ctx).add_note(ref, text)
    click.echo(f"noted at {record.created_at}")


@click.command()
@click.argument("ref")
@click.argument("assignment", metavar="KEY=NUMBER")
@click.pass_context
def metric(ctx: click.Context, ref: str, assignment: str) -> None:
    """Append a dated metric to a version, e.g. after a new evaluation."""
    from modelkeep._assignments import parse_assignments

    ((key, value),) = parse_assignments([assignment], "metric").items()
    record = open_keep(ctx).add_metric(ref, key, value)
    click.echo(f"{key} = {format_value(record.value)} recorded at {record.created_at}")
