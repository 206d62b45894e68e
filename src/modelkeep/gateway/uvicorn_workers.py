"""Several gateway processes on one listening socket: ``modelkeep gateway --workers N``.

uvicorn's supervisor spawns N processes; each builds its own app (``worker_app``), opens the
keep again (the deployment state is shared through the keep's database, as between gateways
on different machines) and accepts connections from the one socket the parent bound. The
socket travels to the children pickled, which keeps its ``IPPROTO_TCP`` protocol number, so
asyncio still turns Nagle's algorithm off on every accepted connection: a socket rebuilt with
protocol 0 is the ~44 ms-a-request stall of uvicorn#3149 (``serve.listen``).
"""

from __future__ import annotations

import inspect
import json
import os
import socket
from dataclasses import asdict

from starlette.applications import Starlette

from .app import GatewaySettings, create_app

_JOB = "MODELKEEP_GATEWAY_WORKER_JOB"  # how the parent tells each spawned worker what to serve


def worker_app() -> Starlette:
    """The app one worker serves (an ``uvicorn`` factory): the keep and settings the parent
    named in the environment."""
    from modelkeep.keep import Keep

    job = json.loads(os.environ[_JOB])
    # the port is shared: a worker that accepted connections before its versions loaded
    # would answer 503 beside workers that can answer
    settings = GatewaySettings(**{**job["settings"], "load_before_serving": True})
    return create_app(Keep.open(job["location"]), settings)


def serve_workers(location: str | None, sock: socket.socket, settings: GatewaySettings,
                  workers: int) -> None:
    """Serve ``workers`` gateway processes for the keep at ``location`` (as ``Keep.open``
    takes it; the children inherit the environment and the folder) on ``sock``, until SIGINT
    or SIGTERM; a worker that dies is replaced by uvicorn's supervisor."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ[_JOB] = json.dumps({"location": location, "settings": asdict(settings)})
    config = uvicorn.Config(f"{__name__}:worker_app", factory=True, workers=workers,
                            lifespan="on", log_level="warning", access_log=False)
    if "target" in inspect.signature(Multiprocess).parameters:  # older uvicorn took the target too
        Multiprocess(config, target=uvicorn.Server(config).run, sockets=[sock]).run()  # type: ignore[call-arg]
    else:
        Multiprocess(config, sockets=[sock]).run()
