"""Presentation: tables, key/value panels, progress bars and --json output. Library code never prints."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from modelkeep.results import json_ready

if TYPE_CHECKING:  # the protocol, for annotations: importing it costs every command's start-up
    from modelkeep.interface import KeepInterface


def open_keep(ctx: click.Context, near: Path | None = None) -> KeepInterface:
    """The keep the command works on: made by ``ctx.obj["open_keep"]`` when given (tests pass
    another implementation of the interface this way), else the keep named by --keep /
    MODELKEEP_KEEP, else the one found walking up from ``near`` (default: the current folder)."""
    obj = ctx.find_root().obj or {}
    factory = obj.get("open_keep")
    if factory is not None:
        return factory()  # type: ignore[no-any-return]
    from modelkeep.cli.migrate import announce_migration
    from modelkeep.keep import Keep

    return Keep.open(obj.get("keep_path"), near=near, on_migrate=announce_migration)


def json_text(data: Any) -> str:
    """``data`` as the JSON text --json prints (NaN and infinities as strings)."""
    return json.dumps(json_ready(data), indent=2, sort_keys=False, allow_nan=False)


def emit_json(data: Any) -> None:
    """Print ``data`` (result types, or lists and mappings of them) as JSON for scripts."""
    click.echo(json_text(data))


def write_output(path: Path, data: bytes) -> None:
    """Write a command's output file whole or not at all (a temporary file renamed over it)."""
    from modelkeep.errors import StorageError

    name = str(path) if str(path) != "-" else "./-"  # a file named "-", not stdout
    try:
        with click.open_file(name, "wb", atomic=True) as out:
            out.write(data)
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}",
                           hint="check that the folder exists and is writable",
                           path=str(path)) from exc


def format_value(value: Any) -> str:
    """A cell value for humans."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def human_size(size: int) -> str:
    """1536 -> '1.5 KiB'."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a table: a bold header, a rule, aligned cells, within the terminal's width.

    When the cells are wider than the terminal (``COLUMNS``, else the terminal's own width;
    piped output has no limit), the widest columns narrow and their values wrap onto more
    lines, so nothing is cut. Drawn here rather than with rich's Table: importing and laying
    out a rich Table of 100 rows costs 70-110 ms, most of the 150 ms start-up budget of
    ``modelkeep list``.
    """
    cells = [[" ".join(format_value(v).split("\n")) for v in row] for row in rows]
    widths = [max([len(col), *(len(row[i]) for row in cells)]) for i, col in enumerate(columns)]
    widths = fit_widths(widths, output_width())
    tty = sys.stdout.isatty()
    header = " ┃ ".join(_clip(col, w).ljust(w) for col, w in zip(columns, widths, strict=True))
    lines = [click.style(title, bold=True) if tty else title] if title else []
    lines.append(" " + (click.style(header, bold=True) if tty else header))
    lines.append("━" + "━╇━".join("━" * w for w in widths) + "━")
    for row in cells:
        wrapped = [_wrap(v, w) for v, w in zip(row, widths, strict=True)]
        for i in range(max(len(parts) for parts in wrapped)):
            parts = [p[i] if i < len(p) else "" for p in wrapped]
            lines.append(" " + " │ ".join(v.ljust(w) for v, w in zip(parts, widths, strict=True)).rstrip())
    click.echo("\n".join(lines))


def output_width() -> int | None:
    """Columns available: ``COLUMNS`` when set, the terminal's width on a terminal, else None."""
    import os
    import shutil

    if os.environ.get("COLUMNS", "").isdigit() or sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


MIN_COLUMN = 8


def fit_widths(widths: list[int], limit: int | None) -> list[int]:
    """Narrow the widest columns until a table of ``widths`` (with its separators) fits."""
    if limit is None:
        return widths
    widths = list(widths)
    budget = limit - 2 - 3 * (len(widths) - 1)  # the rule's two ends and the separators
    while sum(widths) > budget:
        widest = max(range(len(widths)), key=lambda i: widths[i])
        if widths[widest] <= MIN_COLUMN:
            break  # too many columns for this terminal: let the lines run on
        widths[widest] -= 1
    return widths


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    if len(text) <= width:
        return [text]
    return textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def fields(pairs: Sequence[tuple[str, Any]]) -> None:
    """Print ``key: value`` lines, keys aligned."""
    width = max((len(k) for k, _ in pairs), default=0)
    for key, value in pairs:
        click.echo(f"{key.ljust(width)}  {format_value(value)}")


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A progress callback ``(done, total)`` drawn as a bar on an interactive stderr."""
    if not sys.stderr.isatty():
        yield lambda done, total: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(),
        TimeRemainingColumn(), console=Console(stderr=True), transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None)

        yield update


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """The --json flag every read command takes."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)
