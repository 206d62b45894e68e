"""Run a command under a run: pass its output through live, keep its tail and exit status.

The child gets ``MODELKEEP_RUN_ID`` (and ``MODELKEEP_KEEP``) in its environment, so a
``modelkeep.start_run()`` inside it attaches to the run instead of starting another. Its
stdout and stderr are copied to the given streams as the bytes arrive (progress bars keep
working) while the last lines are kept for the run's record. SIGTERM and SIGINT received
while the child runs are forwarded to it; the caller sees the child's exit status.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from modelkeep.db.database import Database
from modelkeep.errors import InvalidInputError
from modelkeep.tracking.runs import RunInfo, json_field, set_json_field, set_run_columns

TAIL_LINES = 50
_TAIL_BYTES = 64 * 1024


@dataclass(frozen=True)
class ExecResult:
    """How the child ended: its return code (negative: killed by that signal) and output tail."""

    returncode: int
    tail: str
    seconds: float

    @property
    def status(self) -> str:
        """The run status this outcome means."""
        if self.returncode == 0:
            return "finished"
        return "killed" if self.returncode < 0 else "failed"

    @property
    def exit_code(self) -> int:
        """The shell's view of the status: 128 + N for death by signal N."""
        return 128 - self.returncode if self.returncode < 0 else self.returncode


class _Tail:
    """The last bytes written by both streams, in arrival order."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._lock = threading.Lock()

    def add(self, chunk: bytes) -> None:
        """Keep ``chunk`` (older bytes beyond the window are dropped)."""
        with self._lock:
            self._data += chunk
            if len(self._data) > 2 * _TAIL_BYTES:
                del self._data[:-_TAIL_BYTES]

    def lines(self, count: int) -> str:
        """The last ``count`` lines, as text."""
        text = bytes(self._data[-_TAIL_BYTES:]).decode("utf-8", "replace").replace("\r\n", "\n")
        return "\n".join(text.rstrip("\n").split("\n")[-count:]) if text.strip() else ""


def _pump(source: IO[bytes], sink: IO[bytes] | None, tail: _Tail) -> None:
    fd = source.fileno()
    while chunk := os.read(fd, 65536):
        tail.add(chunk)
        if sink is not None:
            sink.write(chunk)
            sink.flush()
    source.close()


def execute(argv: Sequence[str], *, env: Mapping[str, str], stdout: IO[bytes] | None,
            stderr: IO[bytes] | None, tail_lines: int = TAIL_LINES) -> ExecResult:
    """Run ``argv`` to completion with ``env`` added to this process's environment."""
    if not argv:
        raise InvalidInputError("no command to run", hint="modelkeep run exec -- python train.py")
    started = time.monotonic()
    try:
        child = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env={**os.environ, **env})
    except (FileNotFoundError, PermissionError) as exc:
        raise InvalidInputError(f"cannot run '{argv[0]}': {exc.strerror}",
                                hint="check the command name and PATH", command=argv[0]) from exc
    tail = _Tail()
    pumps = [threading.Thread(target=_pump, args=(pipe, sink, tail), daemon=True)
             for pipe, sink in ((child.stdout, stdout), (child.stderr, stderr))]
    for t in pumps:
        t.start()
    previous = _forward_signals(child)
    try:
        returncode = child.wait()
        for t in pumps:
            t.join()
    finally:
        _restore_signals(previous)
    return ExecResult(returncode, tail.lines(tail_lines), time.monotonic() - started)


def _forward_signals(child: subprocess.Popen[bytes]) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}

    def forward(signum: int, frame: Any) -> None:
        """Pass the signal on to the child while it runs."""
        if child.poll() is None:
            child.send_signal(signum)

    return {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}


def _restore_signals(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def execute_run(db: Database, run: RunInfo, argv: Sequence[str], *, keep_env: Mapping[str, str],
                stdout: IO[bytes] | None, stderr: IO[bytes] | None) -> ExecResult:
    """Run ``argv`` under ``run`` (its id and the keep in the child's environment), then record
    its exit code, output tail and command, and the command as the run's pipeline unless the
    run recorded one itself."""
    env = {"MODELKEEP_RUN_ID": run.id, **keep_env}
    result = execute(argv, env=env, stdout=stdout, stderr=stderr)
    set_run_columns(db, run.pk, exit_code=result.returncode, output_tail=result.tail)
    set_json_field(db, run.pk, "command_json", list(argv))
    if json_field(db, run.pk, "pipeline_json") is None:
        set_json_field(db, run.pk, "pipeline_json",
                       {"command": list(argv), "scripts": [], "config_files": []})
    return result
