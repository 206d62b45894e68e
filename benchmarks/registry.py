"""Issue 2 benchmark: registry latency at 10,000 versions, CLI start-up, registering 1 GiB.

Run: python benchmarks/registry.py [--versions 10000] [--models 100] [--gib 1] [--dir DIR]
Every figure is printed beside a baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import blake3_pass, durable_copy, machine, median_ms, remove, write_random_file  # noqa: E402

from modelkeep.keep import Keep  # noqa: E402


def bench_registry(root: Path, n_versions: int, n_models: int) -> None:
    keep = Keep.init(root / "reg")
    src = root / "small"
    src.mkdir()
    per_model = n_versions // n_models
    start = time.perf_counter()
    for m in range(n_models):
        for v in range(per_model):
            (src / "w.bin").write_bytes(f"{m}-{v}".encode())
            keep.register(f"model-{m:03d}", src, params={"i": str(v)}, metrics={"acc": "0.5"})
        keep.set_alias(f"model-{m:03d}", "production", f"1.0.{per_model // 2}")
    total = time.perf_counter() - start
    print(f"register {n_versions} versions over {n_models} models: {total:.1f} s "
          f"({n_versions / total:.0f} versions/s, {total / n_versions * 1000:.2f} ms each)")

    name = f"model-{n_models // 2:03d}"
    ref = f"{name}@1.0.{per_model - 3}"
    db_path = root / "reg" / ".modelkeep" / "modelkeep.db"
    raw = sqlite3.connect(db_path)
    base = median_ms(lambda: raw.execute(
        "SELECT * FROM versions WHERE id = ?", (n_versions // 2,)).fetchone(), 2000)
    print(f"baseline: raw sqlite3 primary-key SELECT: median {base:.4f} ms")
    for label, func in [
        ("show NAME@VERSION", lambda: keep.show(ref)),
        ("list NAME", lambda: keep.versions(name)),
        ("resolve NAME@production", lambda: keep.resolve(f"{name}@production")),
        ("resolve NAME@latest", lambda: keep.resolve(f"{name}@latest")),
        ("list models", lambda: keep.models()),
    ]:
        ms = median_ms(func, 300)
        verdict = "OK" if ms < 2 else "over 2 ms target"
        print(f"{label:28s} median {ms:7.3f} ms  {1000 / ms:9.0f} ops/s  "
              f"{ms / base:6.0f}x raw SELECT  [{verdict}]")
    keep.close()


def bench_startup(root: Path) -> None:
    exe = Path(sys.executable).parent / "modelkeep"
    keep_dir = root / "reg"

    def run(cmd: list[str]) -> float:
        return median_ms(lambda: subprocess.run(cmd, cwd=keep_dir, stdout=subprocess.DEVNULL,
                                                check=True), 15)

    base = run([sys.executable, "-c", "pass"])
    print(f"baseline: python -c pass: median {base:.0f} ms")
    for label, cmd in [("modelkeep --help", [str(exe), "--help"]),
                       ("modelkeep list", [str(exe), "list"])]:
        ms = run(cmd)
        verdict = "OK" if ms < 150 else "over 150 ms target"
        print(f"{label:28s} median {ms:6.0f} ms  ({ms - base:.0f} ms above python -c pass) "
              f"[{verdict}]")


def bench_large(root: Path, gib: float, repeat: int) -> None:
    """Register a large file into a fresh keep, interleaved with its baselines; medians. Two
    files: random bytes (content-defined chunking) and a safetensors checkpoint of 200 tensors
    (cut at tensor boundaries)."""
    from storage import make_model

    size = int(gib * 2**30)
    random_file = write_random_file(root / "big.bin", size)
    checkpoint = root / "ckpt" / "model.safetensors"
    make_model(checkpoint)
    os.sync()
    for label, src in [("safetensors", checkpoint), ("random bytes", random_file)]:
        copies, hashes, registers = [], [], []
        for i in range(repeat):
            copies.append(durable_copy(src, root / "big.copy"))
            remove(root / "big.copy")
            hashes.append(blake3_pass(src))
            keep = Keep.init(root / f"large{i}")
            os.sync()
            start = time.perf_counter()
            keep.register("big", src)
            registers.append(time.perf_counter() - start)
            keep.close()
            remove(root / f"large{i}")
        copy_s, hash_s, reg_s = (statistics.median(x) for x in (copies, hashes, registers))
        verdict = "OK" if reg_s <= 1.25 * copy_s else "over 1.25x target"
        print(f"baseline ({label}): cp + sync: median {copy_s:.2f} s "
              f"(runs {', '.join(f'{c:.2f}' for c in copies)}); one BLAKE3 pass: {hash_s:.2f} s")
        print(f"register {gib:g} GiB {label}: median {reg_s:.2f} s (runs "
              f"{', '.join(f'{r:.2f}' for r in registers)}) = {reg_s / copy_s:.2f}x durable copy, "
              f"{reg_s / hash_s:.1f}x BLAKE3 pass [{verdict}]")
    remove(random_file)
    remove(checkpoint.parent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=5, help="runs of the 1 GiB step (median)")
    parser.add_argument("--parts", default="large,registry,startup",
                        help="comma-separated parts to run, in order (large first: a page cache "
                        "filled by the other parts slows the 1 GiB runs on this VM)")
    parser.add_argument("--dir", type=Path, default=None, help="scratch folder (default: a temp dir)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mk-bench-", dir=args.dir))
    print(f"# registry benchmark, {time.strftime('%Y-%m-%d')}, {machine()}")
    parts = {
        "large": lambda: bench_large(root, args.gib, args.repeat),
        "registry": lambda: bench_registry(root, args.versions, args.models),
        "startup": lambda: bench_startup(root),
    }
    try:
        for name in args.parts.split(","):
            parts[name.strip()]()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
