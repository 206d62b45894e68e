"""Start-up of a ``modelkeep`` process: the cyclic garbage collector is off while modules load.

Importing click, modelkeep and a model's framework allocates a few hundred thousand objects and
frees almost none, so the collections those allocations trigger find nothing and cost 5-8% of
start-up's CPU. The console script (``main()``) turns the collector off; once the command's
module is imported, what start-up made is frozen (never scanned again) and the collector is
turned back on, so long-running commands (``gateway``, ``run exec``) collect as usual.
``predict`` keeps it off while the model's framework loads. The CLI run in-process (tests,
``CliRunner``) never calls ``begin()`` and keeps its collector as it is.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_state = {"starting": False}


def begin() -> None:
    """Turn the collector off for start-up (the console script's first act)."""
    _state["starting"] = True
    gc.disable()


def end() -> None:
    """Start-up is over: freeze what it made and turn the collector back on (once)."""
    if _state["starting"]:
        _state["starting"] = False
        gc.freeze()
        gc.enable()


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection inside the block (loading a framework: see the module docstring)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
