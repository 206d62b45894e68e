"""Serving the gateway app with uvicorn on a socket bound first, so that a port in use is one
clear error (before any model loads) and ``--port 0`` can name the port it got."""

from __future__ import annotations

import socket
from typing import Any

from modelkeep.errors import InvalidInputError

from .app import GatewaySettings, create_app
from .watcher import ServingKeep


def uvicorn_config(app: Any, **extra: Any) -> Any:
    """uvicorn's configuration for a gateway: no access log (docs/privacy.md), no
    forwarded-for parsing (the gateway uses no client address), no ``server: uvicorn``
    header (a ``Date`` header stays)."""
    import uvicorn

    return uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False,
                          proxy_headers=False, server_header=False, **extra)


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto given explicitly: accepted sockets inherit it, and asyncio turns Nagle off
    # (TCP_NODELAY) only on sockets that say IPPROTO_TCP; with proto 0 every keep-alive
    # request waited ~40 ms for a delayed ACK (the stall of uvicorn#3149)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise InvalidInputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                                hint="choose another --port (or stop what uses this one)",
                                host=host, port=port) from None
    return sock


def serve(keep: ServingKeep, sock: socket.socket, settings: GatewaySettings | None = None) -> None:
    """Serve the gateway for ``keep`` on ``sock`` until SIGINT or SIGTERM (uvicorn's handlers)."""
    import os

    import uvicorn

    # one process counts /metrics in its own memory (multiprocess.py sets up shared files)
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)

    uvicorn.Server(uvicorn_config(create_app(keep, settings))).run(sockets=[sock])
