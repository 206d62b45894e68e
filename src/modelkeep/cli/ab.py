"""A/B/n tests from the command line: ``deploy NAME --ab ...`` (in deploy.py), ``deploy split``,
``deploy end`` and ``deploy report``, added to the deploy group."""

from __future__ import annotations

import math
from typing import Any

import click

from modelkeep.cli._output import emit_json, fields, json_option, open_keep, table


def _num(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}g}"


def _interval(low: float | None, high: float | None) -> str:
    return "-" if low is None or high is None else f"[{_num(low)}, {_num(high)}]"


def arms_text(state: Any) -> str:
    """``A=1.0.0 50%, B=1.1.0 50%``: each arm of the state's test, its version and its share
    (no share once the test is over)."""
    if state.active_rollout is None:
        return ", ".join(f"{label}={version}" for label, version in state.rollout.arms)
    split = state.split()
    return ", ".join(f"{label}={version} {split.get(version, 0.0) * 100:g}%"
                     for label, version in state.rollout.arms)


def _say(event: Any, as_json: bool, text: str) -> None:
    if as_json:
        emit_json(event.to_dict())
    else:
        click.echo(text)


def _show(report: Any) -> None:
    srm = report.sample_ratio
    verdict = "MISMATCH: the assignment is broken, trust no other number" if srm.mismatch else "ok"
    fields([("model", report.model), ("test", f"{report.test} ({report.phase})"),
            ("sticky by", report.by or "none: each request drawn afresh"),
            ("control", report.control),
            ("sample ratio", f"{verdict} (chi-square {_num(srm.chi2)}, p = {_num(srm.p_value)}, "
                             f"since {srm.since})")])
    table("arms", ["arm", "version", "share", "requests", "without key", "p50 ms", "p99 ms"],
          [(a.arm, a.version, f"{a.share * 100:g}%", a.requests, a.unkeyed_requests,
            _num(a.p50_ms), _num(a.p99_ms)) for a in report.arms])
    confidence = f"{(1 - report.alpha) * 100:g}% interval"
    table("metrics", ["metric", "arm", "n", "value", confidence],
          [(m.metric, a.arm, m.n, _num(m.value), _interval(m.low, m.high))
           for a in report.arms for m in a.metrics if m.n])
    table(f"sequential tests against {report.control} (mSPRT, always valid)",
          ["metric", "arm", "difference", "interval", "p", "significant"],
          [(c.metric, c.arm, _num(c.difference), _interval(c.low, c.high), _num(c.p_value),
            "yes" if c.significant else ("not yet" if c.p_value is not None else "too few"))
           for c in report.comparisons])


@click.command("split")
@click.argument("name")
@click.argument("split", metavar="P/P[/...]")
@click.option("--reason", default="", help="Why (kept in the deployment history).")
@json_option
@click.pass_context
def split(ctx: click.Context, name: str, split: str, reason: str, as_json: bool) -> None:
    """Change the split of NAME's A/B test (percents in the arms' order), moving as few users
    as possible."""
    event = open_keep(ctx).split_ab_test(name, split, reason)
    _say(event, as_json, f"{name}: split -> {arms_text(event.state)}")


@click.command("end")
@click.argument("name")
@click.option("--winner", required=True, metavar="LABEL",
              help="The arm whose version serves all traffic from now on.")
@click.option("--reason", default="", help="Why (kept in the deployment history).")
@json_option
@click.pass_context
def end(ctx: click.Context, name: str, winner: str, reason: str, as_json: bool) -> None:
    """End NAME's A/B test: the winning arm's version becomes the stable version."""
    event = open_keep(ctx).end_ab_test(name, winner, reason)
    _say(event, as_json, f"{name}: A/B test ended, {winner} won: {event.state.stable} serves "
                         "all traffic")


@click.command("report")
@click.argument("name")
@click.option("--alpha", type=click.FloatRange(0.0001, 0.5), default=0.05, show_default=True,
              help="Significance level of the sequential tests (intervals are 1 - alpha).")
@json_option
@click.pass_context
def report(ctx: click.Context, name: str, alpha: float, as_json: bool) -> None:
    """NAME's latest A/B test: each metric per arm with its interval, the sample-ratio check,
    and whether each arm differs from the control yet (sequential test)."""
    result = open_keep(ctx).ab_report(name, alpha)
    if as_json:
        emit_json(result.to_dict())
        return
    _show(result)


def start(ctx: click.Context, name: str, arms: str, split: str | None, by: str | None,
          reason: str, as_json: bool, *, force: bool = False) -> None:
    """``deploy NAME --ab ...``: start an A/B/n test."""
    if "@" in name:
        raise click.UsageError(f"with --ab, name the model only (not {name!r}); the arms name "
                               "the versions: --ab A=1.0.0,B=1.1.0")
    event = open_keep(ctx).start_ab_test(name, arms, split, by=by, reason=reason, force=force)
    key = event.state.rollout.by if event.state.rollout else None
    _say(event, as_json, f"{name}: A/B test started: {arms_text(event.state)}"
         + (f", sticky by {key}" if key else ""))
