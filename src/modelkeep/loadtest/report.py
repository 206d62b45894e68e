"""A load test's report: ``report.html`` with PNG plots beside it, and ``result.json``.

Plots (matplotlib, Agg backend: no display needed): throughput, latency percentiles over
time, failures, and the target's CPU and memory (when a target process was measured).
Files are written to a temporary folder beside ``DIR`` and moved into place, so a failed
report leaves no half-written folder.
"""

from __future__ import annotations

import html
import importlib.util
import json
import math
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from modelkeep.errors import MissingDependencyError, OutputExistsError, StorageError

from .timeline import LoadResult

PLOTS = ("throughput", "latency", "errors", "target")


def _series(values: Iterable[float | None]) -> list[float]:
    """Values to plot, a gap (NaN) where a second has none."""
    return [math.nan if v is None else v for v in values]


def _figure(name: str, result: LoadResult, out: Path) -> bool:
    """Draw one plot into ``out/NAME.png``; False when there is nothing to draw."""
    import matplotlib.pyplot as plt

    t = [s.t for s in result.seconds]
    fig, ax = plt.subplots(figsize=(8, 3.2), dpi=100)
    try:
        if name == "throughput":
            ax.plot(t, [s.requests for s in result.seconds], label="answered")
            if result.pattern != "replay":
                ax.plot(t, [result.rps_asked] * len(t), linestyle=":", label="asked (peak)")
            ax.set_ylabel("requests / s")
        elif name == "latency":
            for q in ("p50", "p90", "p99"):
                ax.plot(t, _series(getattr(s, q) for s in result.seconds), label=q)
            ax.set_ylabel("latency (ms)")
        elif name == "errors":
            ax.bar(t, [s.failures for s in result.seconds], color="tab:red", label="failed")
            ax.set_ylabel("failed requests / s")
        else:
            if not result.target:
                return False
            ax.plot(t, _series(s.cpu_percent for s in result.seconds), color="tab:green",
                    label="CPU %")
            ax.set_ylabel("CPU (% of one core)")
            mem = ax.twinx()
            mem.plot(t, _series(s.rss_mib for s in result.seconds), color="tab:purple",
                     label="resident MiB")
            mem.set_ylabel("memory (MiB)")
            mem.legend(loc="upper right")
        ax.set_xlabel("seconds from start")
        ax.set_title(f"{name}: {result.url}", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left")
        fig.tight_layout()
        fig.savefig(out / f"{name}.png")
    finally:
        plt.close(fig)
    return True


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:g} ms"


def render_html(result: LoadResult, plots: list[str]) -> str:
    """The report page: a summary table, the plots, the commonest errors, every second."""
    e = html.escape
    summary = [("target", result.url), ("pattern", result.pattern),
               ("asked", f"{result.rps_asked:g} rps for {result.duration:g} s"),
               ("processes", str(result.processes)), ("requests", f"{result.requests:,}"),
               ("failed", f"{result.failures:,}"), ("throughput", f"{result.rps:,.1f} rps"),
               ("p50", _ms(result.p50)), ("p99", _ms(result.p99)),
               ("CPU and memory of", result.target or "not measured (no --target-pid, and "
                "no process of this machine listens on the URL's port)"),
               ("load tester", "SATURATED: a worker process ran above 90% CPU, so the tester "
                "may have set the pace; add --processes on free cores" if result.tester_saturated
                else "below 90% CPU in every worker process")]
    rows = "\n".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in summary)
    images = "\n".join(f'<h2>{e(p)}</h2>\n<img src="{e(p)}.png" alt="{e(p)} over time">'
                       for p in plots)
    errors = "\n".join(f"<tr><td>{n:,}</td><td>{e(m)}</td></tr>"
                       for m, n in result.errors.items()) or '<tr><td colspan="2">none</td></tr>'
    seconds = "\n".join(
        "<tr>" + "".join(f"<td>{e(_cell(v))}</td>" for v in s.to_dict().values()) + "</tr>"
        for s in result.seconds)
    head = "".join(f"<th>{k}</th>" for k in ("t", "requests", "failures", "p50", "p90", "p99",
                                              "CPU %", "MiB"))
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>modelkeep load test: {e(result.url)}</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:2px 8px;text-align:left}}</style>
</head>
<body>
<h1>Load test</h1>
<table>
{rows}
</table>
{images}
<h2>errors</h2>
<table><tr><th>count</th><th>error</th></tr>
{errors}
</table>
<h2>every second</h2>
<table><tr>{head}</tr>
{seconds}
</table>
</body>
</html>
"""


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def check_report_dir(folder: Path) -> None:
    """``folder`` can take a report (new, or empty) and matplotlib is there: checked before
    the load test runs, so a test is never run for a report that cannot be written."""
    if importlib.util.find_spec("matplotlib") is None:
        raise MissingDependencyError("the load test report needs matplotlib",
                                     hint="pip install 'modelkeep[loadtest]'")
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise OutputExistsError(f"report folder {folder} exists and is not empty",
                                hint="choose a new --report folder", path=str(folder))


def write_report(result: LoadResult, folder: Path) -> list[Path]:
    """Write the report into ``folder`` (a new or empty folder)."""
    folder = Path(folder)
    check_report_dir(folder)
    import matplotlib

    matplotlib.use("Agg")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".report-", dir=folder.parent))
    except OSError as exc:
        raise StorageError(f"cannot write the report to {folder}: {exc.strerror or exc}",
                           path=str(folder)) from None
    try:
        plots = [name for name in PLOTS if _figure(name, result, work)]
        (work / "report.html").write_text(render_html(result, plots), encoding="utf-8")
        (work / "result.json").write_text(json.dumps(result.to_dict(), indent=2), encoding="utf-8")
        if folder.exists():
            folder.rmdir()  # empty: checked above
        work.rename(folder)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return sorted(folder.iterdir())
