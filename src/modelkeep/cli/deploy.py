"""``modelkeep deploy`` and ``modelkeep rollback``: which version a gateway serves, and rollouts.

``modelkeep deploy NAME@VERSION [--canary]`` (and ``deploy NAME --ab ...``) is short for
``modelkeep deploy start ...``; the other subcommands (status, promote, pause, resume, abort,
history, and split, end, report from ab.py) name a model.
"""

from __future__ import annotations

from typing import Any

import click

from modelkeep.cli import ab
from modelkeep.cli._output import emit_json, fields, json_option, open_keep, table
from modelkeep.registry.gates import GatePolicy

SUBCOMMANDS_HELP = "status, promote, pause, resume, abort, history, split, end, report"


class DeployGroup(click.Group):
    """A group whose first argument, when it is not a subcommand, is the ref to deploy."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = args[0] if args else ""
        if first and first not in self.commands and not first.startswith("-"):
            # neither a subcommand nor NAME@VERSION (nor NAME --ab ...): a typo, most likely
            if "@" not in first and "--ab" not in args:
                from modelkeep.errors import did_you_mean

                hint = did_you_mean(first, self.commands)
                raise click.UsageError(f"'{first}' is neither a deploy subcommand nor NAME@VERSION"
                                       + (f"; {hint}" if hint else ""), ctx=ctx)
            args = ["start", *args]
        return super().parse_args(ctx, args)


def _steps(value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        return tuple(int(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not comma-separated percents, e.g. 5,25,50,100",
                                 param_hint="--steps") from None


def _split_text(state: Any) -> str:
    """``1.0.0 95%, 1.1.0 5%``: who answers what share of the traffic."""
    return ", ".join(f"{v} {share * 100:g}%" for v, share in state.split().items()) or "nothing"


def _describe(state: Any, gates: list[Any]) -> None:
    rollout = state.rollout
    split = _split_text(state)
    rows: list[tuple[str, Any]] = [("model", state.model), ("stable", state.stable or "-"),
                                   ("split", split)]
    if rollout is not None:
        where = rollout.phase + (" (paused)" if rollout.paused else "")
        if rollout.phase == "canary":
            where += f", step {rollout.step + 1} of {len(rollout.steps)}"
        if rollout.arms:
            rows.append(("A/B test", f"{ab.arms_text(state)} ({where})"))
        else:
            rows += [("rollout", f"{rollout.candidate}: {where}"),
                     ("steps", " -> ".join(f"{s}%" for s in rollout.steps))]
        if rollout.phase == "shadow":
            rows.append(("shadow", f"{rollout.shadow_percent:g}% of requests copied"))
        if rollout.by:
            rows.append(("sticky by", rollout.by))
        if rollout.active and rollout.phase == "canary":
            window = f"{rollout.window:g} s" if rollout.window else "none (advanced by hand)"
            rows.append(("step window", f"{window}, step began {state.step_started}"))
        rows += [(f"gate {g.gate}", f"{g.verdict}: {g.detail}") for g in gates]
    rows += [("earlier stable", ", ".join(state.previous) or "-"),
             ("changed", state.changed_at or "never deployed")]
    fields(rows)


def _report(event: Any, as_json: bool) -> None:
    if as_json:
        emit_json(event.to_dict())
        return
    click.echo(f"{event.state.model}: {event.action} -> {_split_text(event.state)}")


@click.group(cls=DeployGroup)
def deploy() -> None:
    """Serve a version (NAME@VERSION), roll one out (--canary, --shadow) or A/B test several
    (NAME --ab A=V,B=V); then status, promote, pause, resume, abort, history, split, end,
    report."""


@deploy.command("start")
@click.argument("ref", metavar="NAME@VERSION")
@click.option("--canary", is_flag=True, help="Move traffic in steps (default 5,25,50,100 percent).")
@click.option("--shadow", is_flag=True, help="Start with a shadow phase: copies of requests only.")
@click.option("--shadow-percent", type=float, default=100.0, show_default=True,
              help="Percent of requests copied to the candidate during the shadow phase.")
@click.option("--steps", metavar="P,P,...", help="Canary steps in percent, ending at 100.")
@click.option("--by", metavar="header:NAME", help="Sticky assignment by this request header "
              "(or cookie:NAME, query:NAME).")
@click.option("--ab", "arms", metavar="A=VERSION,B=VERSION[,...]",
              help="Start an A/B/n test of these arms instead (the first is the control); "
                   "give NAME, not NAME@VERSION.")
@click.option("--split", "split", metavar="P/P[/...]",
              help="With --ab: each arm's percent of the users, in the arms' order (default equal).")
@click.option("--window", type=float, default=None, metavar="SECONDS",
              help="How long each canary step is watched before it advances (default 86400, "
                   "a day; 0: by hand only).")
@click.option("--max-error-rate", type=float, default=0.01, show_default=True,
              help="Gate: the candidate's error rate may exceed the stable one's by this much.")
@click.option("--max-p99-ratio", type=float, default=1.5, show_default=True,
              help="Gate: the candidate's p99 latency may be this many times the stable one's.")
@click.option("--min-requests", type=int, default=100, show_default=True,
              help="Requests each version needs in a step before the gates judge it.")
@click.option("--reason", default="", help="Why (kept in the deployment history).")
@json_option
@click.pass_context
def start(ctx: click.Context, ref: str, canary: bool, shadow: bool, shadow_percent: float,
          steps: str | None, by: str | None, window: float | None, max_error_rate: float,
          max_p99_ratio: float, min_requests: int, reason: str, as_json: bool,
          arms: str | None, split: str | None) -> None:
    """Serve NAME@VERSION: all traffic at once, or through a shadow and/or canary rollout;
    or start an A/B/n test of NAME (--ab)."""
    gates = GatePolicy(max_error_rate=max_error_rate, max_p99_ratio=max_p99_ratio,
                       min_requests=min_requests)
    if arms is not None:
        if canary or shadow or steps or window is not None or shadow_percent != 100.0 \
                or gates != GatePolicy():
            raise click.UsageError("--ab starts an A/B test: --canary, --shadow, --steps, "
                                   "--window and the gate limits are for rollouts")
        ab.start(ctx, ref, arms, split, by, reason, as_json)
        return
    if split is not None:
        raise click.UsageError("--split sets the arms' shares of an A/B test: add --ab")
    event = open_keep(ctx).deploy(ref, canary=canary, shadow=shadow, shadow_percent=shadow_percent,
                                  steps=_steps(steps), by=by, window=window, gates=gates,
                                  reason=reason)
    _report(event, as_json)


@deploy.command("status")
@click.argument("name")
@json_option
@click.pass_context
def status(ctx: click.Context, name: str, as_json: bool) -> None:
    """Where NAME's deployment stands: stable version, split, rollout phase, step and gates."""
    keep = open_keep(ctx)
    state, gates = keep.deployment(name), keep.deployment_gates(name)
    if as_json:
        emit_json({**state.to_dict(), "gates": [g.to_dict() for g in gates]})
        return
    _describe(state, gates)


def _change_command(action: str, summary: str) -> click.Command:
    @click.argument("name")
    @click.option("--reason", default="", help="Why (kept in the deployment history).")
    @json_option
    @click.pass_context
    def command(ctx: click.Context, name: str, reason: str, as_json: bool) -> None:
        _report(open_keep(ctx).change_deployment(name, action, reason), as_json)

    command.__doc__ = summary
    return click.command(action)(command)


@deploy.command("promote")
@click.argument("name")
@click.option("--full", is_flag=True, help="Skip the remaining steps: all traffic to the candidate.")
@click.option("--reason", default="", help="Why (kept in the deployment history).")
@json_option
@click.pass_context
def promote(ctx: click.Context, name: str, full: bool, reason: str, as_json: bool) -> None:
    """Move NAME's rollout one step on (shadow -> canary steps -> promoted), or all the way."""
    action = "promote-full" if full else "promote"
    _report(open_keep(ctx).change_deployment(name, action, reason), as_json)


deploy.add_command(_change_command("pause", "Hold NAME's rollout at its current split."))
deploy.add_command(_change_command("resume", "Let NAME's paused rollout move again."))
deploy.add_command(_change_command("abort", "Stop NAME's rollout: all traffic back to stable."))


@deploy.command("history")
@click.argument("name")
@json_option
@click.pass_context
def history(ctx: click.Context, name: str, as_json: bool) -> None:
    """Every change of what NAME served: action, split after it, who, when and why."""
    events = open_keep(ctx).deployment_history(name)
    if as_json:
        emit_json([e.to_dict() for e in events])
        return
    table(f"deployment history of {name}", ["at", "action", "split", "author", "reason"],
          [(e.at, e.action, _split_text(e.state), e.author, e.reason) for e in events])


rollback = _change_command(
    "rollback", "All of NAME's traffic to its last stable version: a running rollout is "
    "aborted, otherwise the stable version before the current one serves again.")

for _command in (ab.split, ab.end, ab.report):
    deploy.add_command(_command)
