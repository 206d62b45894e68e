"""Issue 7 benchmark: ``modelkeep register`` timed as users run it, as whole processes.

Run: python benchmarks/cli_register.py [--dir DIR] [--repeat 5] [--sizes 1024,256]

For each size (MiB) a safetensors checkpoint of 200 tensors (v1) and a fine-tune of it with
10 tensors changed (v2). Each repeat, in turn and on the same files:

* ``cp`` + ``sync`` of v1 (the durable copy the targets are relative to);
* ``modelkeep register m v1/model.safetensors`` into a fresh keep (a new process, start-up,
  imports, opening the keep, storing, recording the version, exit: what the user waits for);
* ``modelkeep register m v2/model.safetensors`` into the same keep (the fine-tune);
* ``python -c pass`` (the interpreter's own start-up, for reference).

Method: the steps of one repeat run back to back, so load from other processes hits them
alike; dirty pages are written back (``sync``, untimed) before every timed step; medians are
reported with the minimum beside them. Nothing is warmed first: the process starts cold, as
a user's does (see benchmarks/storage.py for the in-process store with memory warmed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine  # noqa: E402
from storage import Times, make_model  # noqa: E402

MIB = 1 << 20
CLI = str(Path(sys.executable).with_name("modelkeep"))


def cli(keep: Path, *args: str) -> None:
    """Run one ``modelkeep`` command in ``keep`` as a user would (output discarded)."""
    subprocess.run([CLI, *args], cwd=keep, check=True, stdout=subprocess.DEVNULL)


def durable_copy(src: Path, dest: Path) -> None:
    """``cp`` then ``sync``: the baseline."""
    subprocess.run(["cp", str(src), str(dest)], check=True)
    subprocess.run(["sync"], check=True)


def bench_size(work: Path, mib: int, repeat: int, t: Times) -> list[str]:
    base = work / f"m{mib}"
    v1, v2 = base / "v1" / "model.safetensors", base / "v2" / "model.safetensors"
    if not v1.exists():
        make_model(v1, size=mib * MIB)
    if not v2.exists():
        make_model(v2, changed=10, size=mib * MIB)
    cp, add, tune = f"cp + sync {mib} MiB", f"register {mib} MiB", f"register fine-tune {mib} MiB"
    for _ in range(repeat):
        copy = work / "copy"
        t.run(cp, durable_copy, v1, copy)
        copy.unlink()
        keep = work / "keep"
        shutil.rmtree(keep, ignore_errors=True)
        keep.mkdir()
        cli(keep, "init")
        t.run(add, cli, keep, "register", "m", str(v1))
        t.run(tune, cli, keep, "register", "m", str(v2))
        t.run("python -c pass", subprocess.run, [sys.executable, "-c", "pass"], check=True)
    shutil.rmtree(work / "keep", ignore_errors=True)
    return [
        f"baseline: cp + sync of {mib} MiB {t.median(cp):.3f} s (min {min(t.times[cp]):.3f})",
        t.line(add, cp, target="<= 1.25x cp + sync"),
        t.line(tune, cp, target="<= 0.5x cp + sync"),
    ]


def main() -> None:
    """Run every size and print the report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: a new one in /var/tmp)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--sizes", default="1024,256", help="checkpoint sizes in MiB, comma-separated")
    a = ap.parse_args()
    work = a.dir or Path(tempfile.mkdtemp(prefix="mk-bench-cli-", dir="/var/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    print(f"{time.strftime('%Y-%m-%d %H:%M')} | {machine()} | load {load:.1f} | work {work} | "
          f"median of {a.repeat}")
    t = Times()
    lines: list[str] = []
    for mib in (int(s) for s in a.sizes.split(",")):
        lines += bench_size(work, mib, a.repeat, t)
    lines.append(f"{'python -c pass':28s} median {t.median('python -c pass'):6.3f} s "
                 "(interpreter start-up, in every register above)")
    lines.append(f"load average after: {os.getloadavg()[0]:.1f}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
