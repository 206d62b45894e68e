"""Issue 3 benchmark: the storage layer against ``cp``, ``cp`` + ``sync`` and one BLAKE3 pass.

Run: python benchmarks/storage.py [--dir DIR] [--repeat 5] [--files 50000] [--remote]

* a 1 GiB safetensors file of 200 tensors (v1) and a fine-tune of it with 10 tensors changed
  (v2): add v1, add v2 (time and bytes added), checkout v1 into an empty folder (verified, the
  default, and with verification off: the cost of verifying), checkout v1 over v2 (a folder
  holding v2);
* a folder of ``--files`` small files (1-20 KB): add, a no-change re-add (stat cache), checkout
  (verified and not);
* the peak memory (VmHWM) of add, fine-tune add and checkout, each in a fresh process;
* ``--remote`` also runs benchmarks/storage_remote.py (push, pull, second push of the fine-tune).

Method: each case runs ``--repeat`` times, interleaved with its baselines on the same file in the
same run, so load from other processes hits both alike; dirty pages are written back (``sync``,
untimed) before every timed step; medians are reported, with the minimum beside them. Memory is
touched once first (untimed): on this VM the host backs guest pages lazily, which otherwise
makes whichever step first needs fresh pages up to 5x slower.
"""

from __future__ import annotations

import argparse
import os
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
from _common import blake3_pass, machine  # noqa: E402

from modelkeep.storage.checkout import checkout  # noqa: E402
from modelkeep.storage.objects import ObjectStore  # noqa: E402
from modelkeep.storage.statcache import StatCache  # noqa: E402
from modelkeep.storage.tree import add_path  # noqa: E402

GIB = 1 << 30
PROBE = (
    "import sys;from pathlib import Path;from modelkeep.storage.objects import ObjectStore;"
    "from modelkeep.storage.tree import add_path;from modelkeep.storage.checkout import checkout;"
    "s=ObjectStore(Path(sys.argv[1])/'objects',Path(sys.argv[1])/'tmp');"
    "p=Path(sys.argv[2]);"
    "r=add_path(s,p) if sys.argv[3]=='add' else checkout(s,sys.argv[4],p,link='copy');"
    "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])"
)


class Times:
    """Every timing of every case; medians, minimums and ratios."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}

    def run(self, name: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        os.sync()
        start = time.perf_counter()
        out = fn(*args, **kw)
        self.times.setdefault(name, []).append(time.perf_counter() - start)
        return out

    def median(self, name: str) -> float:
        return statistics.median(self.times[name])

    def line(self, name: str, *bases: str, target: str = "") -> str:
        m = self.median(name)
        ratios = ", ".join(f"{m / self.median(b):.2f}x {b}" for b in bases)
        tail = f"  [target {target}]" if target else ""
        return f"{name:28s} median {m:6.3f} s (min {min(self.times[name]):.3f}) = {ratios}{tail}"


def sh(cmd: str) -> None:
    subprocess.run(cmd, shell=True, check=True)


def make_model(path: Path, changed: int = 0, size: int = GIB) -> None:
    """200 int32 tensors of ``size`` / 200 bytes (~5 MiB for 1 GiB); tensors 0..changed-1
    differ from the base model."""
    import numpy as np
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    tensors = {}
    for i in range(200):
        t = rng.integers(0, 255, size=(size // 200 // 4,), dtype=np.int32)
        tensors[f"layer.{i:03d}.weight"] = t + 1 if i < changed else t
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path))


def make_small(root: Path, count: int) -> None:
    """``count`` files of 1-20 KB of random bytes in folders of 1,000."""
    import numpy as np

    rng = np.random.default_rng(1)
    for i in range(count):
        d = root / f"d{i // 1000:02d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:05d}.txt").write_bytes(rng.bytes(int(rng.integers(1024, 20 * 1024))))


def fresh_store(root: Path) -> ObjectStore:
    shutil.rmtree(root, ignore_errors=True)
    return ObjectStore(root / "objects", root / "tmp", workers=os.cpu_count() or 2)


def warm_memory(gib: int) -> None:
    """Touch ``gib`` GiB of anonymous memory once, so later page allocations are not the
    host's first touch (see the module docstring)."""
    import mmap

    m = mmap.mmap(-1, gib * GIB)
    for off in range(0, gib * GIB, 4096):
        m[off] = 1
    m.close()


def bench_big(work: Path, repeat: int) -> list[str]:
    v1, v2 = work / "v1" / "model.safetensors", work / "v2" / "model.safetensors"
    if not v1.exists():
        make_model(v1)
    if not v2.exists():
        make_model(v2, changed=10)
    t = Times()
    added = 0
    size = v1.stat().st_size
    for _ in range(repeat):
        copy = work / "copy"
        t.run("cp + sync", sh, f"cp {v1} {copy} && sync")
        copy.unlink()
        t.run("blake3 pass", blake3_pass, v1)
        store = fresh_store(work / "keep")
        tree1 = t.run("add v1", add_path, store, v1.parent).tree_id
        before = sum(store.size(o) for o in store.iter_ids())
        tree2 = t.run("add fine-tune", add_path, store, v2.parent).tree_id
        added = sum(store.size(o) for o in store.iter_ids()) - before
        t.run("cp", sh, f"cp {v1} {copy}")
        copy.unlink()
        out = work / "out"
        shutil.rmtree(out, ignore_errors=True)
        os.sync()
        t.run("checkout v1 (empty folder)", checkout, store, tree1, out, link="copy")
        shutil.rmtree(out)
        os.sync()
        t.run("checkout v1, --no-verify", checkout, store, tree1, out, link="copy", verify=False)
        shutil.rmtree(out)
        checkout(store, tree2, out, link="copy")
        t.run("checkout v1 over v2", checkout, store, tree1, out, link="copy")
        shutil.rmtree(out)
    lines = [
        f"baselines: cp {t.median('cp'):.3f} s, cp + sync {t.median('cp + sync'):.3f} s, "
        f"one BLAKE3 pass (2 threads, page cache) {t.median('blake3 pass'):.3f} s",
        t.line("add v1", "cp + sync", "blake3 pass", target="<= 1.25x cp + sync"),
        t.line("add fine-tune", "cp + sync", "blake3 pass", target="<= 0.5x cp + sync"),
        f"{'fine-tune bytes added':28s} {added / 2**20:.1f} MiB = {100 * added / size:.1f}% of the file"
        "  [target <= 7%]",
        t.line("checkout v1 (empty folder)", "cp", "checkout v1, --no-verify", target="<= 1.5x cp"),
        t.line("checkout v1, --no-verify", "cp"),
        t.line("checkout v1 over v2", "cp"),
    ]
    keep_rss = work / "keep-rss"
    shutil.rmtree(keep_rss, ignore_errors=True)
    out = work / "out-rss"
    shutil.rmtree(out, ignore_errors=True)
    lines += [  # in this order: the fine-tune is added to the keep holding v1
        f"{'peak RSS add v1':28s} {_peak(keep_rss, v1.parent, 'add')}",
        f"{'peak RSS add fine-tune':28s} {_peak(keep_rss, v2.parent, 'add')}",
        f"{'peak RSS checkout v1':28s} {_peak(work / 'keep', out, 'checkout', tree1)}  [target < 300 MB]",
    ]
    shutil.rmtree(out, ignore_errors=True)
    return lines


def _peak(keep: Path, path: Path, step: str, tree: str = "") -> str:
    """Peak RSS (VmHWM) of one add or checkout in a fresh process."""
    argv = [sys.executable, "-c", PROBE, str(keep), str(path), step, tree]
    r = subprocess.run(argv, capture_output=True, text=True, check=True)
    return f"{int(r.stdout.split()[-1]) / 1024:.0f} MB"


def bench_small(work: Path, repeat: int, count: int) -> list[str]:
    src = work / f"small-{count}"
    if not src.exists():
        make_small(src, count)
    t = Times()
    for _ in range(repeat):
        copy = work / "smallcopy"
        shutil.rmtree(copy, ignore_errors=True)
        t.run("cp -r + sync", sh, f"cp -r {src} {copy} && sync")
        shutil.rmtree(copy)
        t.run("cp -r", sh, f"cp -r {src} {copy}")
        shutil.rmtree(copy)
        store = fresh_store(work / "keep-small")
        cache_path = work / "statcache.json"
        cache_path.unlink(missing_ok=True)
        tree = t.run("add files", add_path, store, src, stat_cache=StatCache(cache_path)).tree_id
        time.sleep(0.06)  # as a user would: not within the stat cache's racy window
        t.run("re-add, nothing changed", add_path, store, src, stat_cache=StatCache(cache_path))
        out = work / "smallout"
        shutil.rmtree(out, ignore_errors=True)
        os.sync()
        t.run("checkout files", checkout, store, tree, out, link="copy")
        shutil.rmtree(out)
        os.sync()
        t.run("checkout files, --no-verify", checkout, store, tree, out, link="copy", verify=False)
        shutil.rmtree(out)
    return [
        f"baselines ({count} files): cp -r {t.median('cp -r'):.3f} s, "
        f"cp -r + sync {t.median('cp -r + sync'):.3f} s",
        t.line("add files", "cp -r + sync", "cp -r", target="<= 2x cp -r + sync"),
        t.line("re-add, nothing changed", "cp -r", target="< 1 s"),
        t.line("checkout files", "cp -r", "checkout files, --no-verify"),
        t.line("checkout files, --no-verify", "cp -r"),
    ]


def main() -> None:
    """Run every case and print the report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: a new one in /var/tmp)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--files", type=int, default=50_000)
    ap.add_argument("--remote", action="store_true", help="also run benchmarks/storage_remote.py")
    ap.add_argument("--warm", type=int, default=12, help="GiB of memory to touch first (0: skip)")
    a = ap.parse_args()
    work = a.dir or Path(tempfile.mkdtemp(prefix="mk-bench-", dir="/var/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    if a.warm:
        warm_memory(a.warm)
    print(f"{time.strftime('%Y-%m-%d %H:%M')} | {machine()} | work {work} | median of {a.repeat}")
    for line in bench_big(work, a.repeat) + bench_small(work, max(3, a.repeat - 2), a.files):
        print(line)
    if a.remote:
        subprocess.run(
            [
                sys.executable,
                str(Path(__file__).parent / "storage_remote.py"),
                "--dir",
                str(work / "remote-bench"),
            ],
            check=True,
        )
    else:
        print("push/pull to a local-path remote: python benchmarks/storage_remote.py (or --remote)")


if __name__ == "__main__":
    main()
