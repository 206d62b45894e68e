"""Run one keep operation in this process and freeze it midway, so a test can SIGKILL it.

    python driver.py OP KEEP MARKER N [ARGS...]

After the operation's N-th progress report the process writes MARKER and sleeps: the test then
kills it with SIGKILL, a real crash at a known point. N = 0 runs the operation to the end.
Progress reports come under the operation's own lock, so every worker thread stops soon after.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from modelkeep.keep import Keep


def freezer(n: int, marker: Path) -> Callable[[int, int], None] | None:
    if n <= 0:
        return None
    calls = 0

    def progress(done: int, total: int) -> None:
        nonlocal calls
        calls += 1
        if calls == n:
            marker.write_text(f"{done}/{total}")
            time.sleep(3600)

    return progress


def main() -> None:
    op, keep_dir, marker, n, *args = sys.argv[1:]
    keep = Keep.open(keep_dir)
    progress = freezer(int(n), Path(marker))
    if op == "register":
        keep.register(args[0], args[1], progress=progress)
    elif op == "add":
        keep.add(args[0], progress=progress)
    elif op == "checkout":
        keep.checkout(args[0], args[1], link="copy", progress=progress)
    elif op == "push":
        keep.push(progress=progress)
    elif op == "pull":
        keep.pull([args[0]], progress=progress)
    elif op == "gc":
        keep.gc(grace=0, keep_stable=int(args[0]), progress=progress)
    else:
        raise SystemExit(f"unknown operation {op}")
    Path(marker).with_suffix(".done").write_text("done")


if __name__ == "__main__":
    main()
