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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from modelkeep.errors import InvalidInputError

if TYPE_CHECKING:
    from modelkeep.keep import Keep

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
            stderr: IO[bytes] | None, tail_lines: int = TAIL_LINES,
            cwd: Path | None = None) -> ExecResult:
    """Run ``argv`` to completion (in ``cwd``, default this process's folder) with ``env``
    added to this process's environment."""
    if not argv:
        raise InvalidInputError("no command to run", hint="modelkeep run exec -- python train.py")
    started = time.monotonic()
    try:
        child = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env={**os.environ, **env}, cwd=cwd)
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


@dataclass(frozen=True)
class RunExec:
    """A command run under a run (``run exec``, ``reproduce --run``): the run and how it ended."""

    run_id: str
    returncode: int
    status: str
    exit_code: int
    seconds: float
    tail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


def exec_under_run(keep: Keep, command: Sequence[str], *, model: str | None = None,
                   name: str | None = None, run_id: str | None = None,
                   tags: Mapping[str, str] | None = None, cwd: Path | None = None,
                   env: Mapping[str, str] | None = None, stdout: IO[bytes] | None,
                   stderr: IO[bytes] | None, on_start: Callable[[str], None] | None = None
                   ) -> RunExec:
    """Run ``command`` under a new run (or attached to ``run_id``): the child finds the run in
    ``MODELKEEP_RUN_ID``; its exit status, output tail and command are recorded on the run, and
    a pipeline that recorded none gets the command as its entry point. ``on_start`` hears the
    run id before the command starts."""
    from modelkeep.tracking.runs import json_field, set_json_field, set_run_columns

    handle = (keep.start_run(model, run_id=run_id, capture=False) if run_id
              else keep.start_run(model, name))
    if tags:
        handle.set_tags(dict(tags))  # before the child starts: it may read them
    child_env = {**(env or {}), "MODELKEEP_RUN_ID": handle.id,
                 "MODELKEEP_KEEP": str(keep.settings.root)}
    if on_start is not None:
        on_start(handle.id)
    try:
        result = execute(command, env=child_env, stdout=stdout, stderr=stderr, cwd=cwd)
    except BaseException:
        handle.close("failed" if handle.owner else None)
        raise
    pk = handle.info.pk
    set_run_columns(keep.db, pk, exit_code=result.returncode, output_tail=result.tail)
    set_json_field(keep.db, pk, "command_json", list(command))
    if json_field(keep.db, pk, "pipeline_json") is None:
        set_json_field(keep.db, pk, "pipeline_json",
                       {"command": list(command), "scripts": [], "config_files": []})
    handle.close(result.status if handle.owner else None)
    return RunExec(handle.id, result.returncode, result.status, result.exit_code,
                   result.seconds, result.tail)


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
