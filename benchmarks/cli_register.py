"""Issue 7 benchmark: ``modelkeep register`` timed as users run it, as whole processes.

Run: python benchmarks/cli_register.py [--dir DIR] [--repeat 5] [--sizes 1024,256]

For each size (MiB) a safetensors checkpoint of 200 tensors (v1) and a fine-tune of it with
10 tensors changed (v2). Each repeat, in turn and on the same files:

* ``cp`` + ``sync`` of v1 (the durable copy the targets are relative to);
* ``modelkeep register m v1/model.safetensors`` into a fresh keep (a new process, start-up,
  imports, opening the keep, storing, recording the version, exit: what the user waits for);
* ``modelkeep register m v2/model.safetensors`` into the same keep (the fine-tune);
* the store alone: ``add_path`` of v1 into an empty store, then of v2, timed inside a fresh
  process (what the process spends beyond it is start-up, imports, the keep and the version);
* ``modelkeep register`` of a 1-byte file: the fixed cost of a register process;
* ``modelkeep register`` of a safetensors file of one small tensor: the fixed cost as every
  safetensors register pays it (the registry reads the header and records a fingerprint);
* ``python -c pass``: the interpreter's own start-up.

Method: each step's wall time and the CPU time (user + system) of its processes; the steps of
one repeat run back to back, so load from other processes hits them
alike; dirty pages are written back (``sync``, untimed) before every timed step; medians are
reported with the minimum beside them. Each step is a fresh process, as a user's is; before
each, ``--warm`` GiB of memory is touched and freed (see ``warm``: a property of this VM, not
of the steps). benchmarks/storage.py measures the store inside one long-lived process.
modelkeep's bytecode is compiled first, as ``pip install`` does (``--no-compile``: not; an
editable install under ``PYTHONDONTWRITEBYTECODE=1`` compiles every module in every process).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import compile_modelkeep, machine  # noqa: E402
from storage import Times, make_model  # noqa: E402

MIB = 1 << 20
CLI = str(Path(sys.executable).with_name("modelkeep"))


TINY_ST = "register a 16-byte tensor"
CPU: dict[str, list[float]] = {}  # user + system seconds of the step's processes


WARM = 2  # GiB of memory touched (and freed) before each timed step; --warm sets it


def warm() -> None:
    """Touch and free ``WARM`` GiB, so the step's new page-cache pages are backed by the host.

    This VM gives free memory back to its host (free page reporting, ~2 s after it is freed);
    a page taken from such memory costs microseconds on first touch, so whichever step first
    writes a GiB after another step deleted one paid up to 5x (docs/benchmarks.md). Every
    step, the ``cp`` baseline included, starts from the same warm state.
    """
    if WARM:
        bytearray(WARM << 30)  # zero-filled: every page is written once


def run(t: Times, name: str, fn: Callable[..., Any], *args: Any) -> None:
    """Time one step (wall, in ``t``) and the CPU its child processes used (in ``CPU``)."""
    warm()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t.run(name, fn, *args)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.setdefault(name, []).append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)


def line(t: Times, name: str, base: str, target: str = "") -> str:
    """The Times line plus the median CPU of the step beside the baseline's."""
    if name not in CPU:
        return t.line(name, base, target=target)
    cpu = f"; CPU {statistics.median(CPU[name]):.2f} s vs {statistics.median(CPU[base]):.2f} s"
    return t.line(name, base, target=target) + cpu


def cli(keep: Path, *args: str) -> None:
    """Run one ``modelkeep`` command in ``keep`` as a user would (output discarded)."""
    subprocess.run([CLI, *args], cwd=keep, check=True, stdout=subprocess.DEVNULL)


STORE_ONLY = """
import os, sys, shutil, time
from pathlib import Path
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.tree import add_path
root = Path(sys.argv[1])
shutil.rmtree(root, ignore_errors=True)
store = ObjectStore(root / "objects", root / "tmp", workers=os.cpu_count() or 2)
for path in sys.argv[2:]:
    os.sync()
    start = time.perf_counter()
    add_path(store, Path(path))
    print(time.perf_counter() - start)
shutil.rmtree(root, ignore_errors=True)
"""


def store_only(t: Times, names: tuple[str, str], root: Path, v1: Path, v2: Path) -> None:
    """``add_path`` of v1 then v2 in one fresh process, each timed inside it."""
    out = subprocess.run([sys.executable, "-c", STORE_ONLY, str(root), str(v1), str(v2)],
                         check=True, capture_output=True, text=True).stdout.split()
    for name, seconds in zip(names, out, strict=True):
        t.times.setdefault(name, []).append(float(seconds))


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
    in_add, in_tune = f"  store alone {mib} MiB", f"  store alone fine-tune {mib} MiB"
    tiny = work / "tiny" / "one-byte.bin"
    tiny.parent.mkdir(exist_ok=True)
    tiny.write_bytes(b"x")
    tiny_st = work / "tiny" / "one-tensor.safetensors"
    if not tiny_st.exists():
        import numpy as np
        from safetensors.numpy import save_file

        save_file({"w": np.arange(4, dtype=np.float32)}, str(tiny_st))
    for _ in range(repeat):
        copy = work / "copy"
        run(t, cp, durable_copy, v1, copy)
        copy.unlink()
        keep = work / "keep"
        shutil.rmtree(keep, ignore_errors=True)
        keep.mkdir()
        cli(keep, "init")
        run(t, add, cli, keep, "register", "m", str(v1))
        run(t, tune, cli, keep, "register", "m", str(v2))
        warm()
        store_only(t, (in_add, in_tune), work / "store-only", v1, v2)
        run(t, "register a 1-byte file", cli, keep, "register", "tiny", str(tiny))
        run(t, TINY_ST, cli, keep, "register", "tiny-st", str(tiny_st))
        t.run("python -c pass", subprocess.run, [sys.executable, "-c", "pass"], check=True)
    shutil.rmtree(work / "keep", ignore_errors=True)
    return [
        f"baseline: cp + sync of {mib} MiB {t.median(cp):.3f} s (min {min(t.times[cp]):.3f})",
        line(t, add, cp, target="<= 1.25x cp + sync"),
        line(t, in_add, cp),
        line(t, tune, cp, target="<= 0.5x cp + sync"),
        line(t, in_tune, cp),
    ]


def main() -> None:
    """Run every size and print the report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: a new one in /var/tmp)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--sizes", default="1024,256", help="checkpoint sizes in MiB, comma-separated")
    ap.add_argument("--no-compile", action="store_true", help="do not compile modelkeep's bytecode")
    ap.add_argument("--warm", type=int, default=WARM, help="GiB touched before each step (0: none)")
    a = ap.parse_args()
    globals()["WARM"] = a.warm
    if not a.no_compile:
        compile_modelkeep()
    work = a.dir or Path(tempfile.mkdtemp(prefix="mk-bench-cli-", dir="/var/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    print(f"{time.strftime('%Y-%m-%d %H:%M')} | {machine()} | load {load:.1f} | work {work} | "
          f"median of {a.repeat} | bytecode {'not ' if a.no_compile else ''}compiled | "
          f"{a.warm} GiB warmed before each step")
    t = Times()
    lines: list[str] = []
    for mib in (int(s) for s in a.sizes.split(",")):
        lines += bench_size(work, mib, a.repeat, t)
    for name, what in (("register a 1-byte file", "start-up, imports, keep, version: in every register"),
                       (TINY_ST, "the same for a safetensors file (header read, fingerprint)"),
                       ("python -c pass", "the interpreter's start-up, in every process")):
        cpu = f", CPU {statistics.median(CPU[name]):.2f} s" if name in CPU else ""
        lines.append(f"{name:28s} median {t.median(name):6.3f} s{cpu} ({what})")
    lines.append(f"load average after: {os.getloadavg()[0]:.1f}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
