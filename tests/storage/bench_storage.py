"""Storage benchmarks (issue 3). Not collected by pytest; run
``python tests/storage/bench_storage.py [WORKDIR] [--small|--all]``.

Every case runs ``REPEAT`` times, interleaved with its baseline (``cp`` + ``sync``), so load from
other processes hits both alike; dirty pages are flushed (untimed) before each timed run.
Prints the median and the best of each case and their ratio to the baseline.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file

from modelkeep.storage.checkout import checkout
from modelkeep.storage.objects import ObjectStore
from modelkeep.storage.statcache import StatCache
from modelkeep.storage.tree import add_path

REPEAT = 5
GIB = 1 << 30
RSS_PROBE = (
    "import sys;from pathlib import Path;"
    "from modelkeep.storage.objects import ObjectStore;from modelkeep.storage.tree import add_path;"
    "s=ObjectStore(Path(sys.argv[1])/'objects',Path(sys.argv[1])/'tmp');add_path(s,Path(sys.argv[2]));"
    "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1],'kB')"
)


class Best:
    """Every time of every case."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}

    def run(self, name: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        sh("sync")
        t = time.perf_counter()
        out = fn(*args, **kw)
        self.times.setdefault(name, []).append(time.perf_counter() - t)
        return out

    def median(self, name: str) -> float:
        return statistics.median(self.times[name])

    def ratio(self, name: str, base: str) -> str:
        a, b = self.median(name), self.median(base)
        best = min(self.times[name]) / min(self.times[base])
        return f"{name}: median {a:.2f}s = {a / b:.2f}x {base} ({b:.2f}s); best-to-best {best:.2f}x"


def sh(cmd: str) -> None:
    subprocess.run(cmd, shell=True, check=True)


def make_model(path: Path, changed: int = 0) -> None:
    """200 tensors of ~5 MiB (1 GiB); tensors 0..changed-1 differ from the base model."""
    rng = np.random.default_rng(0)
    tensors = {}
    for i in range(200):
        t = rng.integers(0, 255, size=(GIB // 200 // 4,), dtype=np.int32)
        tensors[f"layer.{i:03d}.weight"] = t + 1 if i < changed else t
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path))


def fresh_store(root: Path) -> ObjectStore:
    shutil.rmtree(root, ignore_errors=True)
    return ObjectStore(root / "objects", root / "tmp", workers=2)


def bench_big(work: Path) -> None:
    model, tuned = work / "src" / "model.safetensors", work / "tuned" / "model.safetensors"
    make_model(model)
    make_model(tuned, changed=10)
    best = Best()
    for _ in range(REPEAT):
        (work / "copy").unlink(missing_ok=True)
        best.run("cp+sync", sh, f"cp {model} {work / 'copy'} && sync")
        (work / "copy").unlink()
        store = fresh_store(work / "keep")
        info = best.run("add 1 GiB", add_path, store, model.parent)
        best.run("add fine-tune", add_path, store, tuned.parent)
        out = work / "out"
        shutil.rmtree(out, ignore_errors=True)
        best.run("cp", sh, f"cp {model} {work / 'copy'}")
        (work / "copy").unlink()
        cache = StatCache(work / "statcache-co")
        best.run("checkout 1 GiB", checkout, store, info.tree_id, out, link="copy", stat_cache=cache)
        best.run("checkout again", checkout, store, info.tree_id, out, link="copy", stat_cache=cache)
        shutil.rmtree(out)
    for name, base in (("add 1 GiB", "cp+sync"), ("add fine-tune", "cp+sync"), ("checkout 1 GiB", "cp")):
        print(best.ratio(name, base))
    print(f"checkout again (files unchanged): median {best.median('checkout again'):.3f}s")
    shutil.rmtree(work / "keep2", ignore_errors=True)
    rss = subprocess.run(
        [sys.executable, "-c", RSS_PROBE, str(work / "keep2"), str(model)], capture_output=True, text=True
    )
    print(f"peak RSS (VmHWM) adding 1 GiB in a fresh process: {rss.stdout.strip()} {rss.stderr[-300:]}")


def bench_small(work: Path, count: int = 50_000) -> None:
    src = work / "small"
    rng = np.random.default_rng(1)
    if not src.exists():
        for i in range(count):
            d = src / f"d{i // 1000:02d}"
            d.mkdir(parents=True, exist_ok=True)
            (d / f"f{i:05d}.txt").write_bytes(rng.bytes(int(rng.integers(1024, 20 * 1024))))
    best = Best()
    for _ in range(3):
        shutil.rmtree(work / "smallcopy", ignore_errors=True)
        best.run("cp -r+sync", sh, f"cp -r {src} {work / 'smallcopy'} && sync")
        store = fresh_store(work / "keep")
        (work / "statcache").unlink(missing_ok=True)
        sh("sync")
        best.run("add 50k files", add_path, store, src, stat_cache=StatCache(work / "statcache"))
        best.run("re-add", add_path, store, src, stat_cache=StatCache(work / "statcache"))
    print(best.ratio("add 50k files", "cp -r+sync"))
    print(f"no-change re-add of {count} files: median {best.median('re-add'):.2f}s")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    workdir = Path(args[0]) if args else Path(tempfile.mkdtemp(prefix="mk-bench-", dir="/var/tmp"))
    workdir.mkdir(parents=True, exist_ok=True)
    if "--small" in sys.argv or "--all" in sys.argv:
        bench_small(workdir)
    if "--small" not in sys.argv:
        bench_big(workdir)
