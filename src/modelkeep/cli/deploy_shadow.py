"""``modelkeep deploy shadow-report NAME``: how a shadow test's candidate compares with the
stable version on the same requests (docs/gateway.md#shadow-tests)."""

from __future__ import annotations

from typing import Any

import click

from modelkeep.cli._output import emit_json, fields, json_option, open_keep, table


def _share(part: int, whole: int) -> str:
    return f"{part} of {whole} ({part / whole:.2%})" if whole else f"{part} of 0"


def _ms(latency: dict[str, Any]) -> str:
    return " / ".join("-" if latency[k] is None else f"{latency[k]:g}"
                      for k in ("p50_ms", "p95_ms", "p99_ms"))


@click.command("shadow-report")
@click.argument("name")
@click.option("--tolerance", type=float, default=None,
              help="Numbers agree within this (relative, absolute below 1; default: the "
                   "rollout's --tolerance); exact for 1-2-5 steps such as 1e-6, 0.01, 0.05.")
@json_option
@click.pass_context
def shadow_report(ctx: click.Context, name: str, tolerance: float | None, as_json: bool) -> None:
    """NAME's latest shadow test: share of outputs that agree, the candidate's latency and
    errors beside the stable version's, and a sample of disagreements."""
    report = open_keep(ctx).shadow_report(name, tolerance)
    data = report.to_dict()
    if as_json:
        emit_json(data)
        return
    rate = "-" if data["stable_error_rate"] is None else f"{data['stable_error_rate']:.2%}"
    fields([("model", name), ("shadow", f"{data['candidate']} beside {data['stable']} "
                                        f"({data['phase']}, since {data['started']})"),
            ("copies", f"{data['copies']} sent, {data['dropped']} dropped (shadow workers busy)"),
            ("agree", _share(data["agreeing"], data["compared"])
             + f" within {data['tolerance_edge']:g}" + (" (exact)" if not data["tolerance"] else "")),
            ("exactly equal", data["exact"]), ("differ beyond numbers", data["mismatched"]),
            ("candidate errors", _share(data["errors"], data["copies"])
             + f", {data['timeouts']} over the timeout; stable error rate {rate}"),
            ("latency ms p50/p95/p99", f"candidate {_ms(data['latency']['candidate'])}, "
                                       f"stable {_ms(data['latency']['stable'])}")])
    if data["disagreements"]:
        table("disagreements (sample)", ["request", "distance", "inputs", "stable", "candidate"],
              [(d["request_id"], d["error"] or d["distance"], d["inputs_hash"][:12],
                d["stable_hash"][:12], (d["candidate_hash"] or "-")[:12])
               for d in data["disagreements"]])
