"""Process exit and SIGTERM: buffered points are written before the process goes away.

Every open run registers here. At interpreter exit (``atexit``) each is closed: the points
are flushed and a run this process owns is ended ``finished`` (``failed`` when the script died
of an uncaught exception). On SIGTERM the points are flushed, then the previous handler runs:
with the default action, owned runs are ended ``killed`` and the signal is re-delivered (the
process dies of SIGTERM, as its parent expects); a Python handler is called and decides (the
runs stay open, e.g. to save a checkpoint); an ignored signal stays ignored.

If SIGTERM lands while the main thread is itself inside a write transaction of a run's
database (or inside a flush), flushing from the handler could wait on a lock this very thread
holds. Then the handler raises ``SystemExit(143)`` instead: the transaction rolls back, and
the ``with`` block and ``atexit`` write everything on the way out.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
from typing import Any, Protocol


class Closable(Protocol):
    """What lifecycle needs from a run."""

    def _busy_in(self, thread_id: int) -> bool: ...

    def _shutdown(self, status: str | None) -> None: ...


log = logging.getLogger("modelkeep.tracking")
_live: dict[int, Closable] = {}
_lock = threading.Lock()
_installed = False
_previous: Any = signal.SIG_DFL


def track(run: Closable) -> None:
    """Keep ``run`` in the set closed at exit and on SIGTERM (installs the hooks once)."""
    with _lock:
        _live[id(run)] = run
    _install()


def untrack(run: Closable) -> None:
    """Forget a run that has been closed."""
    with _lock:
        _live.pop(id(run), None)


def live_runs() -> list[Closable]:
    """The runs open in this process."""
    with _lock:
        return list(_live.values())


def _forget_after_fork() -> None:
    """A forked child must not flush or end the runs of its parent."""
    global _lock
    _lock = threading.Lock()  # another thread of the parent may have held it at the fork
    _live.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


def _install() -> None:
    global _installed, _previous
    if _installed:
        return
    _installed = True
    atexit.register(_at_exit)
    if threading.current_thread() is threading.main_thread():
        _previous = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _on_sigterm)


def _at_exit() -> None:
    failed = getattr(sys, "last_value", None) is not None  # set by an uncaught exception
    for run in live_runs():
        try:
            run._shutdown("failed" if failed else "finished")
        except Exception as exc:  # never hide the other runs' flush behind one failure
            log.error("could not close run at exit: %s", exc)


def _on_sigterm(signum: int, frame: Any) -> None:
    previous = _previous
    dying = previous is signal.SIG_DFL or previous is None
    me = threading.get_ident()
    runs = live_runs()
    if any(run._busy_in(me) for run in runs):
        raise SystemExit(128 + signum)
    for run in runs:
        try:
            run._shutdown("killed" if dying else None)
        except Exception as exc:
            log.error("could not flush run on SIGTERM: %s", exc)
    if callable(previous):
        previous(signum, frame)
    elif dying:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
