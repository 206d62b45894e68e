"""The target's CPU and memory during a load test, read with psutil.

The target is the process named by ``--target-pid``, else, for a URL on this machine, the
process listening on its port (found through psutil's socket table). Its children count too
(a gateway's worker processes). CPU is in percent of one core; memory is resident MiB.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

import psutil

from modelkeep.errors import InvalidInputError


def _is_local(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def listener_of(url: str) -> int | None:
    """The pid listening on ``url``'s port when the URL is on this machine, else None."""
    parts = urlsplit(url)
    if not _is_local(parts.hostname or ""):
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return None
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port \
                and conn.pid:
            return int(conn.pid)
    return None


def check_pid(pid: int) -> psutil.Process:
    """The process ``pid``, or a one-line error when there is none."""
    try:
        return psutil.Process(pid)
    except (psutil.NoSuchProcess, ValueError):
        raise InvalidInputError(f"--target-pid {pid}: no such process",
                                hint="give the pid of the server under test (or leave it out)",
                                pid=pid) from None


class TargetSampler:
    """Samples a process tree's CPU and memory every ``interval`` s in a daemon thread."""

    def __init__(self, process: psutil.Process, on_sample: Callable[[float, float, float], None],
                 interval: float = 0.5) -> None:
        self.process = process
        self.on_sample = on_sample
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="modelkeep-target", daemon=True)
        self._seen: dict[int, psutil.Process] = {}

    def describe(self) -> str:
        """What is measured, for the report."""
        try:
            name = " ".join(self.process.cmdline()[:3]) or self.process.name()
        except psutil.Error:
            name = "?"
        return f"pid {self.process.pid} ({name[:80]}) and its children"

    def _tree(self) -> list[psutil.Process]:
        try:
            found = [self.process, *self.process.children(recursive=True)]
        except psutil.Error:
            return []
        # keep one Process object per pid: cpu_percent measures since its previous call
        return [self._seen.setdefault(p.pid, p) for p in found]

    def _sample(self) -> tuple[float, float]:
        cpu = rss = 0.0
        for proc in self._tree():
            try:
                cpu += proc.cpu_percent(None)
                rss += proc.memory_info().rss / 2**20
            except psutil.Error:
                continue
        return cpu, rss

    def _loop(self) -> None:
        import time

        self._sample()  # the first cpu_percent of a process is always 0: prime it
        while not self._stop.wait(self.interval):
            cpu, rss = self._sample()
            self.on_sample(time.time(), cpu, rss)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


def is_reachable(host: str, port: int, timeout: float = 3.0) -> str:
    """"" when a TCP connection to ``host``:``port`` opens, else why not."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return ""
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__
