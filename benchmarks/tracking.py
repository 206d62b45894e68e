"""Issue 4 benchmark: metric logging, run creation, filtered listing, history read (SQLite keep).

Run: python benchmarks/tracking.py [--points 100000] [--runs 1000] [--sweep 1000] [--dir DIR]

Every figure is printed beside a baseline measured in the same run:
- logging: a naive logger doing one sqlite3 INSERT + commit per call (what a tracking client
  writing straight to a SQLite store does), and the plain Python cost of a call that appends
  a tuple to a list (the floor for any in-process buffer);
- run creation: the same rows written naively, one autocommitted INSERT per row;
- listing and history: the raw sqlite3 query that fetches the same rows without modelkeep;
- a sweep as users write it (``with modelkeep.start_run(...)`` in a loop, keep found from the
  cwd, environment and Git captured, 5 params and 5 metrics a run) in a fresh process: the
  same runs started from one open keep without capture, in a fresh process too.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, median_ms  # noqa: E402

from modelkeep.keep import Keep  # noqa: E402


def _naive_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # the keep's own setting
    conn.execute("CREATE TABLE IF NOT EXISTS points (run TEXT, key TEXT, step INTEGER, "
                 "value REAL, ts REAL)")
    conn.execute("CREATE TABLE IF NOT EXISTS params (run TEXT, key TEXT, value TEXT)")
    conn.execute("CREATE TABLE IF NOT EXISTS runs (id TEXT, name TEXT, status TEXT)")
    return conn


def bench_logging(root: Path, keep: Keep, n: int) -> str:
    # floor: a Python call that appends a tuple
    buf: list[tuple[str, int, float, float]] = []

    def append(name: str, value: float, step: int) -> None:
        buf.append((name, step, value, time.time()))

    start = time.perf_counter()
    for i in range(n):
        append("loss", 1.0 / (i + 1), i)
    floor_us = (time.perf_counter() - start) / n * 1e6

    # naive: one INSERT + commit per call
    conn = _naive_db(root / "naive.db")
    n_naive = min(n, 5000)
    start = time.perf_counter()
    for i in range(n_naive):
        conn.execute("INSERT INTO points VALUES (?, ?, ?, ?, ?)",
                     ("run-1", "loss", i, 1.0 / (i + 1), time.time()))
    naive_us = (time.perf_counter() - start) / n_naive * 1e6
    conn.close()

    run = keep.start_run("bench", "logging", capture=False)
    log = run.log_metric
    start = time.perf_counter()
    for i in range(n):
        log("loss", 1.0 / (i + 1), i)
    logged = time.perf_counter()
    run.flush()
    flushed = time.perf_counter()
    run.end()
    call_us = (logged - start) / n * 1e6
    wall = flushed - start
    verdict = "OK" if wall < 1.0 else "over 1 s target"
    lines = [
        f"baseline: naive INSERT+commit per call: {naive_us:.1f} us/call ({n_naive} calls); "
        f"plain Python append call: {floor_us:.2f} us/call",
        f"log_metric x {n}: {call_us:.2f} us/call buffered; flush {flushed - logged:.3f} s; "
        f"wall {wall:.3f} s incl. flush = {wall / n * 1e6:.2f} us/point, {n / wall:,.0f} points/s "
        f"[{verdict}]",
        f"  = {naive_us / (wall / n * 1e6):.0f}x faster than the naive logger (per point, flush "
        f"included); {call_us / floor_us:.1f}x the plain append call",
    ]
    print("\n".join(lines))
    return run.id


def bench_runs(root: Path, keep: Keep, n_runs: int) -> list[str]:
    rng = random.Random(4)
    # naive: the same rows, one autocommitted INSERT each
    conn = _naive_db(root / "naive.db")
    n_naive = min(n_runs, 100)
    start = time.perf_counter()
    for r in range(n_naive):
        rid = f"run-{r}"
        conn.execute("INSERT INTO runs VALUES (?, ?, 'running')", (rid, rid))
        for j in range(20):
            conn.execute("INSERT INTO params VALUES (?, ?, ?)", (rid, f"p{j}", str(j)))
        for j in range(20):
            conn.execute("INSERT INTO points VALUES (?, ?, 0, ?, ?)", (rid, f"m{j}", 0.5, 0.0))
        conn.execute("UPDATE runs SET status = 'finished' WHERE id = ?", (rid,))
    naive_ms = (time.perf_counter() - start) / n_naive * 1000
    conn.close()

    per_run = []
    start = time.perf_counter()
    for r in range(n_runs):
        t = time.perf_counter()
        with keep.start_run("bench", f"run-{r}", capture=False) as run:
            run.log_params({"p0": r % 10, **{f"p{j}": rng.random() for j in range(1, 20)}})
            run.log_metrics({f"m{j}": rng.random() for j in range(20)}, step=0)
        per_run.append((time.perf_counter() - t) * 1000)
    total = time.perf_counter() - start
    mean_ms = total / n_runs * 1000
    verdict = "OK" if mean_ms < 5 else "over 5 ms target"

    capture_ms = []
    for r in range(10):
        t = time.perf_counter()
        with keep.start_run("bench", f"captured-{r}"):
            pass
        capture_ms.append((time.perf_counter() - t) * 1000)
    lines = [
        f"baseline: naive rows (1 run + 20 params + 20 metrics, one commit each): {naive_ms:.2f} ms/run",
        f"create {n_runs} runs x 20 params x 20 metrics: {total:.2f} s, mean {mean_ms:.2f} ms/run, "
        f"median {statistics.median(per_run):.2f} ms, p99 {sorted(per_run)[int(n_runs * 0.99) - 1]:.2f} ms "
        f"[{verdict}] = {mean_ms / naive_ms:.1f}x the naive time (mean), "
        f"{statistics.median(per_run) / naive_ms:.1f}x (median)",
        f"  with environment + Git capture (cwd {Path.cwd().name}): first run {capture_ms[0]:.0f} ms, "
        f"then median {statistics.median(capture_ms[1:]):.1f} ms/run (machine facts, packages and "
        "the Git state are read once per process)",
    ]
    print("\n".join(lines))
    return lines


def bench_list(root: Path, keep: Keep) -> None:
    params, metrics = ["p0=3"], ["m0>0.2", "m0<0.8"]
    found = keep.runs(params=params, metrics=metrics)
    ms = median_ms(lambda: keep.runs(params=params, metrics=metrics), 30)
    raw = sqlite3.connect(root / "t" / ".modelkeep" / "modelkeep.db")
    base = median_ms(lambda: raw.execute("SELECT * FROM runs").fetchall(), 30)
    total = raw.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    raw.close()
    verdict = "OK" if ms < 50 else "over 50 ms target"
    print(f"baseline: raw sqlite3 SELECT * FROM runs ({total} rows): median {base:.2f} ms")
    print(f"runs list --param p0=3 --metric 'm0>0.2' --metric 'm0<0.8' over {total} runs: "
          f"{len(found)} match, median {ms:.2f} ms (params and final metrics included) "
          f"= {ms / base:.1f}x the raw scan [{verdict}]")


def bench_history(root: Path, keep: Keep, run_id: str, n: int) -> None:
    ms = median_ms(lambda: keep.metric_history(run_id, "loss"), 7)
    got = len(keep.metric_history(run_id, "loss"))
    raw = sqlite3.connect(root / "t" / ".modelkeep" / "modelkeep.db")
    key = raw.execute("SELECT id FROM metric_keys WHERE name = 'loss' LIMIT 1").fetchone()[0]
    base = median_ms(lambda: raw.execute(
        "SELECT step, value, ts FROM metric_points WHERE key_id = ? ORDER BY step", (key,)
    ).fetchall(), 7)
    raw.close()
    verdict = "OK" if ms < 200 else "over 200 ms target"
    print(f"baseline: raw sqlite3 fetch of the same {n} rows: median {base:.1f} ms")
    print(f"read history of one metric ({got} points): median {ms:.1f} ms, "
          f"{got / ms * 1000:,.0f} points/s = {ms / base:.2f}x the raw fetch [{verdict}]")


SWEEP = """
import json, sys, time
import modelkeep
from modelkeep.keep import Keep
n, mode = int(sys.argv[1]), sys.argv[2]
keep = Keep.open() if mode == "baseline" else None
times = []
start = time.perf_counter()
for r in range(n):
    t = time.perf_counter()
    with (keep.start_run("sweep", f"b-{r}", capture=False) if keep is not None
          else modelkeep.start_run("sweep", f"run-{r}")) as run:
        run.log_params({f"p{j}": r * j for j in range(5)})
        run.log_metrics({f"m{j}": r / (j + 1) for j in range(5)}, step=0)
    times.append(time.perf_counter() - t)
print(json.dumps({"total": time.perf_counter() - start, "times": times}))
"""


def bench_sweep(root: Path, n: int) -> None:
    """The sweep as users write it, in a fresh process, against the in-process baseline."""
    folder = root / "sweep"
    Keep.init(folder).close()
    if shutil.which("git"):  # a sweep script usually lives in a Git work tree
        # the keep ignores itself (.modelkeep/.gitignore): the script is what the commit holds
        (folder / "sweep.py").write_text(SWEEP)
        for args in (["init", "-q"], ["add", "-A"], ["-c", "user.email=b@x", "-c", "user.name=b",
                                                      "commit", "-q", "-m", "sweep"]):
            subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)
    got: dict[str, list[dict[str, Any]]] = {}
    for mode in ("baseline", "user", "baseline", "user"):
        out = subprocess.run([sys.executable, "-c", SWEEP, str(n), mode], cwd=folder, check=True,
                             capture_output=True, text=True).stdout
        got.setdefault(mode, []).append(json.loads(out))
    base = min(got["baseline"], key=lambda r: r["total"])
    best = min(got["user"], key=lambda r: r["total"])

    def stats(r: dict[str, Any]) -> tuple[float, float, float]:
        times = sorted(r["times"])
        return r["total"] / n * 1000, times[n // 2] * 1000, times[n * 9 // 10] * 1000

    b_mean, b_median, b_p90 = stats(base)
    mean, median, p90 = stats(best)
    verdict = "OK" if mean < 2 else "over 2 ms target"
    print(f"baseline: {n} runs x 5 params x 5 metrics from one open keep, no capture, fresh "
          f"process: mean {b_mean:.2f} ms/run, median {b_median:.2f}, p90 {b_p90:.2f}")
    print(f"sweep as users write it ({n} x `with modelkeep.start_run(...)`, capture on, Git "
          f"work tree): {best['total']:.2f} s, mean {mean:.2f} ms/run, median {median:.2f}, "
          f"p90 {p90:.2f}, first run {best['times'][0] * 1000:.0f} ms [{verdict}] = "
          f"{mean / b_mean:.1f}x the baseline's mean, {median / b_median:.1f}x its median "
          "(best of 2 processes each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--sweep", type=int, default=1000, help="runs of the user-form sweep")
    parser.add_argument("--dir", type=Path, default=None, help="scratch folder (default: a temp dir)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mk-bench-", dir=args.dir))
    print(f"# tracking benchmark, {time.strftime('%Y-%m-%d')}, {machine()}")
    keep = Keep.init(root / "t")
    try:
        run_id = bench_logging(root, keep, args.points)
        bench_runs(root, keep, args.runs)
        bench_list(root, keep)
        bench_history(root, keep, run_id, args.points)
        bench_sweep(root, args.sweep)
    finally:
        keep.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
