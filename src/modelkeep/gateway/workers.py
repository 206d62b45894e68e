"""Versions served from worker processes: their own interpreter, environment variables, and a
kill switch for predictions that hang.

A ``WorkerModel`` is a ``LoadedModel`` whose ``predict`` hands the inputs to one of its worker
processes (``gateway/worker_main.py``) over a pipe, one request at a time per process, and
waits for the answer until the version's timeout. A worker that outlives it is killed (its
whole process group) and replaced in the background, so a hung model costs one process, never
a gateway thread for good, and never other requests; a worker that dies is replaced the same
way. The protocol is JSON lines (see ``worker_main``).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from modelkeep.errors import (
    ModelkeepError,
    PredictionTimeoutError,
    WorkerFailedError,
    error_from_code,
)

from .worker_main import BOOT

START_TIMEOUT = 120.0  # seconds a worker may take to import and load its version
RESTART_PAUSE = 1.0  # seconds between attempts to replace a worker that cannot start


def _from_wire(error: Mapping[str, Any]) -> ModelkeepError:
    cls = error_from_code(str(error.get("code", "")))
    fields = {k: v for k, v in (error.get("fields") or {}).items() if k != "hint"}
    return cls(str(error.get("message", "the worker failed")), hint=error.get("hint"), **fields)


class WorkerProcess:
    """One worker process and its pipe."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=dict(env), cwd=cwd, start_new_session=True)
        self._buffer = b""
        self.info: dict[str, Any] = {}

    def read(self, deadline: float) -> dict[str, Any] | None:
        """The next message, or None when ``deadline`` (monotonic) passes first."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    return None
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise WorkerFailedError(f"the worker process exited (status "
                                            f"{self.proc.poll()})", pid=self.proc.pid)
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            raise WorkerFailedError("the worker broke the protocol (a line that is not a JSON "
                                    "object)", pid=self.proc.pid)
        return message

    def start(self, timeout: float) -> None:
        """Wait for the worker to load its version (its load error, raised, when it cannot)."""
        message = self.read(time.monotonic() + timeout)
        if message is None:
            self.kill()
            raise WorkerFailedError(f"the worker did not load its version within {timeout:g} s")
        if not message.get("ready"):
            self.kill()
            raise _from_wire(message.get("error") or {})
        self.info = message

    def call(self, inputs: Any, deadline: float) -> Any:
        """The outputs for ``inputs``; None from ``read`` becomes the caller's timeout."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps({"inputs": inputs}, separators=(",", ":")).encode()
                                  + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise WorkerFailedError("the worker process exited", pid=self.proc.pid) from None
        message = self.read(deadline)
        if message is None:
            raise TimeoutError
        if "error" in message:
            raise _from_wire(message["error"])
        return message.get("outputs")

    def kill(self) -> None:
        """Kill the worker and anything it started."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


class WorkerModel:
    """Version ``ref`` answered by ``size`` worker processes running ``python``."""

    def __init__(self, ref: str, python: str, *, env: Mapping[str, str], cwd: Path,
                 size: int = 1, timeout: float = 30.0,
                 start_timeout: float = START_TIMEOUT) -> None:
        self.ref = ref
        self.timeout = timeout
        self.start_timeout = start_timeout
        site_dirs = [p for p in sys.path if p and os.path.isdir(p)]
        self._argv = [python, "-c", BOOT, json.dumps(site_dirs), ref]
        self._env = dict(env)
        self._cwd = cwd
        self._idle: queue.Queue[WorkerProcess] = queue.Queue()
        self._all: set[WorkerProcess] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.restarts = 0
        started = [self._spawn() for _ in range(size)]
        try:
            for worker in started:
                worker.start(start_timeout)
        except BaseException:
            self.close()
            raise
        self.info = started[0].info  # pid, prefix and executable of the first worker
        for worker in started:
            self._idle.put(worker)

    def _spawn(self) -> WorkerProcess:
        worker = WorkerProcess(self._argv, self._env, self._cwd)
        with self._lock:
            self._all.add(worker)
        return worker

    def _retire(self, worker: WorkerProcess) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)
        if not self._closed:
            threading.Thread(target=self._replace, name=f"modelkeep-restart-{self.ref}",
                             daemon=True).start()

    def _replace(self) -> None:
        while not self._closed:
            worker = self._spawn()
            try:
                worker.start(self.start_timeout)
            except (ModelkeepError, OSError):
                with self._lock:
                    self._all.discard(worker)
                time.sleep(RESTART_PAUSE)
                continue
            self.restarts += 1
            if self._closed:
                worker.kill()
            else:
                self._idle.put(worker)
            return

    def predict(self, inputs: Any) -> Any:
        """``inputs`` answered by an idle worker within ``timeout`` seconds; a worker that
        outlives it is killed and replaced (``PredictionTimeoutError``)."""
        deadline = time.monotonic() + self.timeout
        try:
            worker = self._idle.get(timeout=self.timeout)
        except queue.Empty:  # every worker busy, or being replaced
            raise self._timed_out("no worker of it was free") from None
        try:
            outputs = worker.call(inputs, deadline)
        except TimeoutError:
            self._retire(worker)
            raise self._timed_out("its worker process was killed") from None
        except WorkerFailedError:
            self._retire(worker)
            raise
        except BaseException:
            self._idle.put(worker)  # the model's own error: the worker is fine
            raise
        self._idle.put(worker)
        return outputs

    def _timed_out(self, why: str) -> PredictionTimeoutError:
        return PredictionTimeoutError(f"{self.ref} did not answer within {self.timeout:g} s "
                                      f"({why})", ref=self.ref, timeout=self.timeout)

    def close(self) -> None:
        """Kill every worker."""
        self._closed = True
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            worker.kill()
