"""Serving one gateway from several processes on one port (``modelkeep gateway --workers N``).

The parent binds the socket (``serve.listen``) and uvicorn's supervisor starts N gateway
processes (uvicorn's "workers"; not the worker processes a version may run in, see
``placement.py``) that accept on it; each opens the keep itself (``open_keep`` must be
picklable: the processes are spawned, not forked), polls the deployments and loads the
versions, so all apply the same split as separate gateways would. Their metrics go to a fresh
``PROMETHEUS_MULTIPROC_DIR`` that this module makes before the processes start (they inherit
it) and removes when the gateway stops, so every scrape of ``/metrics`` sums all processes and
a new run never counts an old run's requests. Each process accepts connections only once its
versions are loaded (a process answering 503 beside ones that can answer would fail requests),
and the socket travels to the children pickled, which keeps its ``IPPROTO_TCP`` protocol
number, so asyncio still turns Nagle's algorithm off on every accepted connection: a socket
rebuilt with protocol 0 is the ~44 ms-a-request stall of uvicorn#3149 (``serve.listen``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from starlette.types import ASGIApp

from .app import GatewaySettings, create_app
from .metrics import MULTIPROC_ENV
from .serve import uvicorn_config
from .watcher import ServingKeep


@contextlib.contextmanager
def metrics_dir() -> Iterator[Path]:
    """A fresh, private folder for the processes' metric files, named in this process's
    environment for them to inherit; removed (and the variable restored) on exit."""
    path = Path(tempfile.mkdtemp(prefix="modelkeep-gateway-metrics-"))
    previous = os.environ.get(MULTIPROC_ENV)
    os.environ[MULTIPROC_ENV] = str(path)
    try:
        yield path
    finally:
        if previous is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = previous
        shutil.rmtree(path, ignore_errors=True)


def process_app(open_keep: Callable[[], ServingKeep], settings: GatewaySettings) -> ASGIApp:
    """The app of one gateway process, on a keep it opens itself."""
    return create_app(open_keep(), settings)


def serve_processes(open_keep: Callable[[], ServingKeep], sock: socket.socket,
                    settings: GatewaySettings, processes: int) -> None:
    """Serve on ``sock`` from ``processes`` processes until SIGINT or SIGTERM (uvicorn's
    supervisor replaces one that dies)."""
    from uvicorn.supervisors import Multiprocess

    settings = replace(settings, load_before_serving=True)
    with metrics_dir():
        config = uvicorn_config(functools.partial(process_app, open_keep, settings),
                                factory=True, workers=processes)
        Multiprocess(config, sockets=[sock]).run()
