"""Helpers shared by the benchmarks: timing, machine description, durable-copy baselines."""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def machine() -> str:
    """'N cores, CPU model, RAM, Python' for the record in docs/benchmarks.md."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {model}, {mem:.0f} GiB RAM, Python {platform.python_version()}"


def compile_modelkeep() -> None:
    """Compile modelkeep's bytecode, as ``pip install`` does: an editable install under
    ``PYTHONDONTWRITEBYTECODE=1`` (this sandbox) would compile every module in every process."""
    import modelkeep

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(modelkeep.__file__).parent)],
                   check=True, stdout=subprocess.DEVNULL)


def median_ms(func: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``func`` in milliseconds over ``repeat`` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def timed(func: Callable[[], object]) -> float:
    """Seconds one call of ``func`` takes."""
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def drop_caches() -> None:
    """Best effort: write back dirty pages so one step's writes do not slow the next."""
    os.sync()


def durable_copy(src: Path, dest: Path) -> float:
    """Seconds for ``cp`` then ``sync`` (the baseline a durable store is compared with)."""
    drop_caches()
    start = time.perf_counter()
    subprocess.run(["cp", str(src), str(dest)], check=True)
    os.sync()
    return time.perf_counter() - start


def plain_copy(src: Path, dest: Path) -> float:
    """Seconds for a plain ``cp`` (``cp -r`` for folders), no sync."""
    drop_caches()
    start = time.perf_counter()
    subprocess.run(["cp", "-r", str(src), str(dest)], check=True)
    return time.perf_counter() - start


def blake3_pass(path: Path) -> float:
    """Seconds for one multithreaded BLAKE3 pass over a file (page cache warm)."""
    from blake3 import blake3

    start = time.perf_counter()
    hasher = blake3(max_threads=blake3.AUTO)
    with open(path, "rb") as f:
        while block := f.read(16 << 20):
            hasher.update(block)
    hasher.hexdigest()
    return time.perf_counter() - start


def write_random_file(path: Path, size: int) -> Path:
    """A file of ``size`` incompressible bytes."""
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 64 << 20)
            f.write(os.urandom(n))
            left -= n
    return path


def remove(path: Path) -> None:
    """Delete a file or folder tree if present."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()
