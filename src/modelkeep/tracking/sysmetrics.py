"""Optional system-metrics sampling: CPU, RAM and GPU use, logged as ``system/*`` metrics.

A daemon thread samples every ``interval`` seconds and logs through the run's ordinary metric
path (so the points are buffered and flushed like any other). GPU figures come from
``nvidia-smi`` when it is installed. ``system/*`` series are left out of the metrics a
registered version records: they describe the machine, not the model.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable

SYSTEM_PREFIX = "system/"
LogFn = Callable[[str, float, int], None]


def gpu_utilisation() -> list[tuple[float, float]]:
    """(utilisation %, memory used in bytes) per GPU from ``nvidia-smi``; [] without one."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    found = []
    for line in out.strip().splitlines():
        try:
            util, used = (float(p) for p in line.split(","))
        except ValueError:
            continue
        found.append((util, used * 2**20))
    return found


def sample() -> dict[str, float]:
    """One sample of the machine and this process."""
    import psutil

    mem = psutil.virtual_memory()
    values = {
        f"{SYSTEM_PREFIX}cpu_percent": psutil.cpu_percent(interval=None),
        f"{SYSTEM_PREFIX}memory_percent": mem.percent,
        f"{SYSTEM_PREFIX}memory_used_bytes": float(mem.total - mem.available),
        f"{SYSTEM_PREFIX}process_rss_bytes": float(psutil.Process().memory_info().rss),
    }
    for i, (util, used) in enumerate(gpu_utilisation()):
        values[f"{SYSTEM_PREFIX}gpu{i}_utilization_percent"] = util
        values[f"{SYSTEM_PREFIX}gpu{i}_memory_used_bytes"] = used
    return values


class SystemSampler:
    """Samples every ``interval`` seconds into ``log(name, value, step)`` until stopped."""

    def __init__(self, log: LogFn, interval: float) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self._log = log
        self.interval = float(interval)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="modelkeep-sysmetrics", daemon=True)
        self.samples = 0

    def start(self) -> SystemSampler:
        """Begin sampling (the first sample is taken at once)."""
        import psutil

        psutil.cpu_percent(interval=None)  # primes the CPU counter
        self._thread.start()
        return self

    def _loop(self) -> None:
        from modelkeep.errors import ModelkeepError

        while True:
            try:
                for name, value in sample().items():
                    self._log(name, value, self.samples)
            except ModelkeepError:  # the run has ended
                return
            self.samples += 1
            if self._stop.wait(self.interval):
                return

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
