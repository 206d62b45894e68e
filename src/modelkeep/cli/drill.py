"""``modelkeep drill``: a rollback and a roll-forward against a live gateway, under load,
timed and stored with the deployment history (docs/loadtest.md)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from modelkeep.cli._output import emit_json, fields, json_option, open_keep
from modelkeep.cli.loadtest import progress_printer

if TYPE_CHECKING:
    from modelkeep.registry.drills import Switch


def _switch(switch: Switch) -> str:
    """``first answer 70 ms after the command, 100% 2 ms after that``."""
    if switch.first is None:
        return "no answer from it"
    full = "never 100%" if switch.full is None else f"100% {switch.full * 1000:.0f} ms after that"
    return f"first answer {switch.first * 1000:.0f} ms after the command, {full}"


@click.command()
@click.argument("name")
@click.option("--gateway", "gateway_url", default="http://127.0.0.1:8080", show_default=True,
              help="URL of a gateway serving this keep.")
@click.option("--rps", type=float, default=20.0, show_default=True,
              help="Requests per second of the load during the drill.")
@click.option("--hold", default="3s", show_default=True, metavar="TIME",
              help="How long the restored version serves before the roll-forward (and the "
                   "stable version after it) while the load runs.")
@json_option
@click.pass_context
def drill(ctx: click.Context, name: str, gateway_url: str, rps: float, hold: str,
          as_json: bool) -> None:
    """Roll NAME back and forward under load; time the switches, count failed requests and
    check the restored version's outputs. Exits 1 when the drill failed (it is stored)."""
    from modelkeep.clock import parse_duration
    from modelkeep.loadtest.drill import run_drill

    keep = open_keep(ctx)
    result = run_drill(keep, name, gateway_url, rps=rps, hold=parse_duration(hold, "--hold"),
                       on_progress=progress_printer("drill: "))
    if sys.stderr.isatty():
        click.echo("", err=True)
    if as_json:
        emit_json(result)
    else:
        match = {True: f"match ({result.outputs_checked} example inputs)",
                 False: "DIFFER", None: "not checked (no example inputs)"}[result.outputs_match]
        fields([("drill", f"#{result.id} of {name} at {result.at}"),
                ("rollback", f"{result.stable} -> {result.restored}: {_switch(result.rollback)}"),
                ("roll-forward", f"{result.restored} -> {result.stable}: "
                                 f"{_switch(result.forward)}"),
                ("requests", f"{result.requests:,} at {result.rps:g} rps, {result.failed} failed"),
                ("outputs", match + (f", reference from {result.reference_at}"
                                     if result.reference_at else "")),
                ("result", "passed" if result.passed else "FAILED: " + "; ".join(result.problems))])
    if not result.passed:
        ctx.exit(1)
