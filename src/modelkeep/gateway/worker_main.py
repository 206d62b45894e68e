"""The inside of a worker process: load one version, then answer predictions over a pipe.

Started by ``gateway/workers.py`` with the interpreter of the version's environment (or the
gateway's own) and the keep's ``MODELKEEP_*`` variables. The protocol is JSON lines: the
worker first writes ``{"ready": true, "pid", "prefix", "executable"}`` (or ``{"ready": false,
"error": {...}}`` and exits), then reads one ``{"inputs": ...}`` line at a time from stdin and
writes one ``{"outputs": ...}`` or ``{"error": {"code", "message", "hint", "fields"}}`` line
per request. The protocol has stdout to itself: file descriptor 1 is pointed at stderr before
the model is imported, so a model that prints cannot corrupt it.
"""

from __future__ import annotations

import json
import os
import sys
from typing import IO, Any

# the bootstrap a worker is started with (``python -c BOOT SITE_DIRS_JSON REF``): the gateway's
# package folders go after the environment's own, so the version's pinned packages win and
# modelkeep itself (and what it needs) is found in the gateway's installation
BOOT = ("import json, site, sys\n"
        "for d in json.loads(sys.argv[1]): site.addsitedir(d)\n"
        "from modelkeep.gateway.worker_main import main\n"
        "sys.exit(main(sys.argv[2:]))\n")


def _error(exc: BaseException, ref: str) -> dict[str, Any]:
    from modelkeep.errors import ModelkeepError
    from modelkeep.registry.loaders.base import failure

    error = exc if isinstance(exc, ModelkeepError) else failure(exc, f"{ref} raised")
    return dict(error.to_dict()["error"])


def _send(out: IO[bytes], message: dict[str, Any]) -> None:
    try:
        data = json.dumps(message, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:  # outputs that are not JSON
        data = json.dumps({"error": {"code": "loader_failed", "hint": None, "fields": {},
                                     "message": f"the outputs are not JSON: {exc}"}})
    out.write(data.encode() + b"\n")
    out.flush()


def main(argv: list[str]) -> int:
    """Serve version ``argv[0]`` until stdin closes."""
    ref = argv[0]
    protocol = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # prints of the model go to stderr, never into the protocol
    try:
        from modelkeep.keep import Keep

        model = Keep.open().load(ref)
    except BaseException as exc:  # any failure to load is reported, then the worker ends
        _send(protocol, {"ready": False, "error": _error(exc, ref)})
        return 1
    _send(protocol, {"ready": True, "pid": os.getpid(), "prefix": sys.prefix,
                     "executable": sys.executable})
    for line in sys.stdin.buffer:
        try:
            outputs = model.predict(json.loads(line)["inputs"])
            reply: dict[str, Any] = {"outputs": outputs}
        except Exception as exc:  # the model's error goes back to the request that caused it
            reply = {"error": _error(exc, ref)}
        _send(protocol, reply)
    return 0
