"""``modelkeep loadtest``: drive a gateway, or any HTTP endpoint, with a pattern of load
(docs/loadtest.md)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from modelkeep.cli._output import emit_json, fields, json_option

if TYPE_CHECKING:
    from modelkeep.loadtest.runner import Progress


def progress_printer(label: str = "") -> Callable[[Progress], None]:
    """A callback drawing the live progress line on stderr (rewritten in place on a TTY)."""
    tty = sys.stderr.isatty()

    def show(progress: Progress) -> None:
        text = label + progress.line()
        click.echo(f"\r{text}" if tty else text, err=True, nl=not tty)

    return show


def _body(text: str | None) -> object:
    from modelkeep.errors import InvalidInputError

    if text is None:
        return None
    raw = text
    if text.startswith("@"):
        try:
            raw = Path(text[1:]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"cannot read --body file {text[1:]}: {exc}",
                                    hint="--body '{\"inputs\": ...}' or --body @FILE") from None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise InvalidInputError(f"--body is not JSON: {exc}",
                                hint="--body '{\"inputs\": ...}' or --body @FILE") from None


@click.command()
@click.argument("url")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--pattern", default="constant", show_default=True, metavar="PATTERN",
              help="constant, ramp, spike, or replay (with FILE: JSONL of recorded requests).")
@click.option("--rps", type=float, default=10.0, show_default=True,
              help="Requests per second (the peak for ramp and spike; the pace of a replay "
                   "whose records have no offsets).")
@click.option("--duration", default=None, metavar="TIME",
              help="How long: 30s, 2m, 1h (default 10s; a replay: until its last request).")
@click.option("--processes", type=int, default=1, show_default=True,
              help="Worker processes sending the load (the rate is shared between them).")
@click.option("--users", type=click.IntRange(0, 10000), default=0,
              help="Concurrent connections per process (default: one per 20 rps of the peak).")
@click.option("--method", default="GET", show_default=True,
              help="HTTP method of the generated requests (not for replay).")
@click.option("--body", default=None, metavar="JSON|@FILE",
              help="JSON body of the generated requests (not for replay).")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write report.html, PNG plots and result.json to this new folder.")
@click.option("--target-pid", type=int, default=None,
              help="Measure this process's CPU and memory (default: the process listening on "
                   "the URL's port, when it is on this machine).")
@json_option
def loadtest(url: str, file: Path | None, pattern: str, rps: float, duration: str | None,
             processes: int, users: int, method: str, body: str | None, report_dir: Path | None,
             target_pid: int | None, as_json: bool) -> None:
    """Send load to URL from separate processes (Locust); live progress on stderr."""
    from modelkeep.clock import parse_duration
    from modelkeep.loadtest.plan import build_plan
    from modelkeep.loadtest.report import check_report_dir, write_report
    from modelkeep.loadtest.runner import run_load

    plan = build_plan(url, pattern, rps=rps, processes=processes, users=users,
                      duration=None if duration is None else parse_duration(duration, "--duration"),
                      replay=file, method=method, body=_body(body))
    if report_dir is not None:
        check_report_dir(report_dir)
    result = run_load(plan, target_pid=target_pid, on_progress=progress_printer())
    if sys.stderr.isatty():
        click.echo("", err=True)
    written = write_report(result, report_dir) if report_dir is not None else []
    if as_json:
        emit_json({**result.to_dict(), "report": [str(p) for p in written]})
    else:
        def ms(v: float | None) -> str:
            return "-" if v is None else f"{v:g} ms"

        fields([("target", result.url), ("pattern", f"{result.pattern}, {result.rps_asked:g} rps"
                                          f" asked, {result.duration:g} s"),
                ("requests", f"{result.requests:,} ({result.failures:,} failed)"),
                ("throughput", f"{result.rps:,.1f} rps"),
                ("latency", f"p50 {ms(result.p50)}, p99 {ms(result.p99)}"),
                ("measured", result.target or "-"),
                ("tester", "SATURATED (>90% CPU): it may have set the pace; add --processes"
                 if result.tester_saturated else "below 90% CPU"),
                ("report", str(report_dir / "report.html") if report_dir else "-")])
    if result.requests and result.failures == result.requests:
        click.get_current_context().exit(1)  # nothing answered well: a script should notice
