"""``modelkeep gateway``: serve the keep's deployed versions over HTTP (docs/gateway.md)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import click

from modelkeep.cli._output import open_keep


@click.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="TCP port to listen on (0: any free port, printed at start).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--poll-interval", type=click.FloatRange(0.01, 60), default=0.2, show_default=True,
              help="Seconds between reads of the deployment state.")
@click.option("--timeout", type=click.FloatRange(0.001, min_open=False), default=30.0,
              show_default=True, help="Seconds a prediction may take before it answers 504.")
@click.option("--threads", type=click.IntRange(1, 1024), default=32, show_default=True,
              help="Worker threads running predictions.")
@click.option("--keep-stable", type=click.IntRange(1, 10), default=3, show_default=True,
              help="Recent stable versions of each model kept loaded for instant rollback.")
@click.option("--workers", "--processes", "workers", type=click.IntRange(1, 64), default=1,
              show_default=True, help="Gateway processes accepting on the port (uvicorn "
              "workers; each loads every served version before it accepts).")
@click.option("--memory-limit", type=click.IntRange(64, None), default=None, metavar="MIB",
              help="Cap each gateway process's memory: a model that exhausts it fails its "
                   "request (500, prediction_out_of_memory) instead of the whole gateway.")
@click.option("--log-payloads/--no-log-payloads", default=None,
              help="Store request and response payloads, redacted, in the keep (default: "
              "[gateway] payload_logging, off; see docs/privacy.md).")
@click.pass_context
def gateway(ctx: click.Context, port: int, host: str, poll_interval: float, timeout: float,
            threads: int, keep_stable: int, workers: int, memory_limit: int | None,
            log_payloads: bool | None) -> None:
    """Serve deployed versions: POST /v1/models/NAME/predict, GET /v1/models, GET /healthz,
    GET /metrics."""
    from modelkeep.gateway.app import GatewaySettings
    from modelkeep.gateway.serve import listen, serve

    keep = open_keep(ctx)
    keep.apply_configured_budgets()  # [budgets] in config.toml, before any call is served
    policy = keep.payload_policy()  # a bad [gateway] setting is refused before listening
    if log_payloads is None:
        log_payloads = policy.enabled
    sock = listen(host, port)
    bound = sock.getsockname()[1]
    where = f"[{host}]" if ":" in host else host
    click.echo(f"modelkeep gateway serving on http://{where}:{bound}", err=True)
    settings = GatewaySettings(poll_interval=poll_interval, timeout=timeout, threads=threads,
                               keep_stable=keep_stable, log_payloads=log_payloads)
    if log_payloads:
        click.echo(f"logging request and response payloads (redacted, kept "
                   f"{policy.retention_days:g} days; modelkeep purge deletes them)", err=True)
    if memory_limit is not None:
        from modelkeep.gateway.memory import limit_memory

        limit_memory(memory_limit)
    if workers == 1:
        serve(keep, sock, settings)
        return
    from modelkeep.gateway.multiprocess import serve_processes

    keep.close()  # each process opens its own
    location = (ctx.find_root().obj or {}).get("keep_path")
    serve_processes(functools.partial(reopen_keep, location), sock, settings, workers)


def reopen_keep(location: str | Path | None) -> Any:
    """The keep a gateway process serves: the one the command opened (by --keep, else
    MODELKEEP_KEEP or the folder, which the process inherits)."""
    from modelkeep.keep import Keep

    return Keep.open(location)
