"""``modelkeep cost`` and ``modelkeep budget``: what hosted versions spent, and their limits."""

from __future__ import annotations

import click

from modelkeep.cli._output import emit_json, json_option, open_keep, table


@click.command()
@click.argument("name", required=False)
@click.option("--since", default="", metavar="DAY|TIME",
              help="Only calls from this UTC day (2026-12-01) or ISO time on.")
@click.option("--by", "by", type=click.Choice(["version", "day", "arm"]), default="version",
              show_default=True, help="One line per version, per day, or per A/B arm and version.")
@json_option
@click.pass_context
def cost(ctx: click.Context, name: str | None, since: str, by: str, as_json: bool) -> None:
    """What the hosted versions of NAME (or of every model) cost: calls, errors, tokens,
    spend and cost per 1,000 requests, as the gateways recorded them."""
    report = open_keep(ctx).cost_report(name, since=since, by=by)
    if as_json:
        emit_json(report)
        return
    if not report.lines:
        click.echo("no hosted calls recorded" + (f" since {since}" if since else ""))
        return
    rows = [(line.model, line.group, line.calls, line.errors, line.input_tokens,
             line.output_tokens, f"{line.to_dict()['cost']} {line.currency}",
             f"{line.to_dict()['cost_per_1k_requests']} {line.currency}") for line in report.lines]
    table(None, ["model", by if by != "arm" else "arm version", "calls", "errors", "tokens in",
                 "tokens out", "cost", "per 1k requests"], rows)


@click.group()
def budget() -> None:
    """Spending limits of hosted versions: gateways stop routing to a version once spent."""


@budget.command("set")
@click.argument("ref", metavar="NAME@VERSION")
@click.argument("amount")
@click.option("--currency", required=True, metavar="CODE",
              help="ISO 4217 code, the same as the version's price (USD, EUR, ...).")
@json_option
@click.pass_context
def budget_set(ctx: click.Context, ref: str, amount: str, currency: str, as_json: bool) -> None:
    """Limit what NAME@VERSION may spend to AMOUNT (what it spent so far is kept)."""
    found = open_keep(ctx).set_budget(ref, amount, currency)
    if as_json:
        emit_json(found)
        return
    shown = found.to_dict()
    click.echo(f"Budget of {found.ref}: {shown['limit']} {found.currency} "
               f"(spent {shown['spent']}, reserved by calls in flight {shown['reserved']})")


@budget.command("list")
@click.argument("name", required=False)
@json_option
@click.pass_context
def budget_list(ctx: click.Context, name: str | None, as_json: bool) -> None:
    """Every budget (of NAME only, if given): limit, spent, reserved, exhausted."""
    found = open_keep(ctx).budgets(name)
    if as_json:
        emit_json(found)
        return
    if not found:
        click.echo("no budgets set")
        return
    rows = []
    for b in found:
        shown = b.to_dict()
        rows.append((b.ref, b.currency, shown["limit"], shown["spent"], shown["reserved"],
                     "yes" if b.exhausted else "no"))
    table(None, ["version", "currency", "limit", "spent", "reserved", "exhausted"], rows)
