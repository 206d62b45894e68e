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
from modelkeep.cli.deploy_shadow import shadow_report
from modelkeep.registry.deploy_config import DeployConfig, load_config_file
from modelkeep.registry.gates import GatePolicy

SUBCOMMANDS_HELP = ("status, promote, pause, resume, abort, history, shadow-report, split, end, "
                    "report")


class DeployGroup(click.Group):
    """A group whose first argument, when it is not a subcommand, is the ref to deploy."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = args[0] if args else ""
        if first and first not in self.commands and not first.startswith("-"):
            # neither a subcommand nor NAME@VERSION (nor NAME --shadow VERSION, nor NAME --ab
            # ...): a typo, most likely
            shadow_test = any(a == "--shadow" or a.startswith("--shadow=") for a in args)
            if "@" not in first and not shadow_test and "--ab" not in args:
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
    split = state.split() if callable(state.split) else state.split
    return ", ".join(f"{v} {share * 100:g}%" for v, share in split.items()) or "nothing"


def _describe(state: Any, gates: list[Any], extra: tuple[tuple[str, Any], ...] = ()) -> None:
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
            watch = (f", watched {rollout.shadow_window:g} s before the canary steps"
                     if rollout.shadow_window else ", moved on by hand")
            rows.append(("shadow", f"{rollout.shadow_percent:g}% of requests copied{watch}"))
        if rollout.phase == "blue-green":
            rows.append(("blue-green", "switches once a gateway has the candidate answering"))
        if rollout.by:
            rows.append(("sticky by", rollout.by))
        if rollout.active and rollout.phase == "canary":
            window = f"{rollout.window:g} s" if rollout.window else "none (advanced by hand)"
            rows.append(("step window", f"{window}, step began {state.step_started}"))
        rows += [(f"gate {g.gate}", f"{g.verdict}: {g.detail}") for g in gates]
    serving = [*state.split(), *([rollout.candidate] if rollout is not None and rollout.active
                                 and rollout.candidate not in state.split() else [])]
    rows += [(f"config {v}", _config_text(state.config(v))) for v in serving]
    rows += [("earlier stable", ", ".join(state.previous) or "-"),
             ("changed", state.changed_at or "never deployed"), *extra]
    fields(rows)


def _config_text(config: DeployConfig) -> str:
    """``timeout 2 s, threads 4, isolation process, env FOO, BAR`` (names only: values may be
    secrets; ``--json`` has them)."""
    parts = [f"timeout {config.timeout:g} s" if config.timeout else "timeout: the gateway's",
             f"threads {config.threads}" if config.threads else "",
             f"isolation {config.isolation}" if config.isolation != "auto" else "",
             f"env {', '.join(sorted(config.environment))}" if config.environment else ""]
    return ", ".join(p for p in parts if p)


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
@click.option("--shadow", is_flag=False, flag_value="", default=None, metavar="[VERSION]",
              help="A shadow test: copies of requests go to the candidate (NAME --shadow VERSION, "
                   "or NAME@VERSION --shadow); promote moves it on to the canary steps.")
@click.option("--shadow-first", is_flag=True,
              help="With --canary: a shadow phase before the canary steps.")
@click.option("--shadow-percent", "--percent", "shadow_percent", type=float, default=None,
              help="Percent of requests copied to the candidate while it shadows (default 100).")
@click.option("--shadow-window", metavar="DURATION", default=None,
              help="How long the shadow phase is watched before its gates move it on to the "
                   "canary steps (1h, 30m, 90s; default: by hand only).")
@click.option("--tolerance", type=float, default=0.0, show_default=True,
              help="Shadow outputs agree when their numbers are within this (relative, absolute "
                   "below 1).")
@click.option("--blue-green", is_flag=True, help="Load the version beside the stable one, then "
              "switch all traffic at once once a gateway has it answering.")
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
@click.option("--max-error-rate", type=float, default=None,
              help="Gate: the candidate's error rate may exceed the stable one's by this much "
                   "(default 0.01).")
@click.option("--max-p99-ratio", type=float, default=None,
              help="Gate: the candidate's p99 latency may be this many times the stable one's "
                   "(default 1.5).")
@click.option("--min-requests", type=int, default=None,
              help="Requests each version needs in a step before the gates judge it "
                   "(default 100).")
@click.option("--gate", "expressions", multiple=True, metavar="EXPRESSION",
              help="A gate on metrics, e.g. 'accuracy >= stable - 0.01' (repeatable; "
                   "docs/gateway.md#metric-gates).")
@click.option("--min-feedback", type=int, default=None,
              help="Labels (or outcome values) a version needs before an accuracy (value) gate "
                   "judges it (default 30).")
@click.option("--force", is_flag=True, help="Deploy a version whose validation failed or is "
              "missing (needs --reason; recorded in the history).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              metavar="FILE", help="Deployment configuration (YAML: routing, gates, loader, "
                                   "environment), recorded with the version; flags win.")
@click.option("--timeout", type=float, default=None, metavar="SECONDS",
              help="Seconds a prediction of this version may take (default: the gateway's).")
@click.option("--threads", type=int, default=None,
              help="Requests this version answers at once (worker processes when it runs in them).")
@click.option("--isolation", type=click.Choice(["auto", "process", "inline"]), default=None,
              help="process: run the version in a worker process even when it could run "
                   "inside the gateway; inline: call it on the gateway's event loop (faster; "
                   "a model that hangs blocks the gateway, no timeout) (default auto).")
@click.option("--env", "env", multiple=True, metavar="KEY=VALUE",
              help="Environment variable for the version's worker process (repeatable).")
@click.option("--reason", default="", help="Why (kept in the deployment history).")
@json_option
@click.pass_context
def start(ctx: click.Context, ref: str, canary: bool, shadow: str | None, shadow_first: bool,
          shadow_percent: float | None, shadow_window: str | None, tolerance: float,
          blue_green: bool, steps: str | None, by: str | None, window: float | None,
          max_error_rate: float | None, max_p99_ratio: float | None, min_requests: int | None,
          expressions: tuple[str, ...], min_feedback: int | None, force: bool,
          config_file: str | None, timeout: float | None, threads: int | None,
          isolation: str | None, env: tuple[str, ...], reason: str, as_json: bool,
          arms: str | None, split: str | None) -> None:
    """Serve NAME@VERSION: all traffic at once, blue-green, or through a shadow and/or canary
    rollout, with the deployment configuration recorded for the version; NAME --shadow VERSION
    starts a shadow test, NAME --ab an A/B/n test."""
    if arms is not None:
        rollout_options = (canary, shadow, shadow_first, shadow_percent, shadow_window,
                           blue_green, steps, window, max_error_rate, max_p99_ratio,
                           min_requests, min_feedback, config_file, timeout, threads, isolation)
        if env or expressions or tolerance or any(
                option not in (None, False) for option in rollout_options):
            raise click.UsageError("--ab starts an A/B test of versions as they are: --canary, "
                                   "--shadow, --blue-green, --steps, --window, the gates and the "
                                   "configuration options are for NAME@VERSION")
        ab.start(ctx, ref, arms, split, by, reason, as_json, force=force)
        return
    if split is not None:
        raise click.UsageError("--split sets the arms' shares of an A/B test: add --ab")
    ref = _shadow_ref(ref, shadow)
    if shadow_first and not canary:
        raise click.UsageError("--shadow-first comes before canary steps: add --canary")
    limits: dict[str, Any] = {k: v for k, v in (
        ("max_error_rate", max_error_rate), ("max_p99_ratio", max_p99_ratio),
        ("min_requests", min_requests), ("min_feedback", min_feedback)) if v is not None}
    if expressions:
        limits["expressions"] = expressions
    config = load_config_file(config_file) if config_file else DeployConfig()
    if limits:
        config_gates = {k: v for k, v in config.gates.items() if k in GatePolicy.__dataclass_fields__}
        gates: GatePolicy | None = GatePolicy(**{**config_gates, **limits})
    else:
        gates = None
    config = config.with_overrides(timeout=timeout, threads=threads, isolation=isolation,
                                   environment=_env_pairs(env))
    event = open_keep(ctx).deploy(ref, canary=canary, shadow=shadow is not None or shadow_first,
                                  shadow_percent=shadow_percent, steps=_steps(steps), by=by,
                                  window=window, gates=gates, reason=reason, config=config,
                                  blue_green=blue_green, shadow_window=_seconds(shadow_window),
                                  tolerance=tolerance, force=force)
    _report(event, as_json)


def _env_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    found = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--env")
        found[name] = value
    return found

def _shadow_ref(ref: str, shadow: str | None) -> str:
    """NAME --shadow VERSION is NAME@VERSION --shadow."""
    if shadow is None or shadow == "":
        if "@" not in ref:
            raise click.UsageError(f"'{ref}' is not NAME@VERSION (or NAME --shadow VERSION)")
        return ref
    if "@" in ref:
        raise click.UsageError(f"give the shadow's version once: {ref.partition('@')[0]} "
                               f"--shadow {shadow}")
    return f"{ref}@{shadow}"


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _seconds(value: str | None) -> float:
    """A duration: seconds, or a number with s, m, h or d (0 when not given)."""
    if value is None:
        return 0.0
    text = value.strip().lower()
    unit = _UNITS.get(text[-1:], 0.0)
    try:
        seconds = float(text[:-1] if unit else text) * (unit or 1.0)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise click.BadParameter(f"{value!r} is not a duration such as 1h, 30m, 90s or 3600",
                                 param_hint="--shadow-window")
    return seconds


@deploy.command("status")
@click.argument("name")
@json_option
@click.pass_context
def status(ctx: click.Context, name: str, as_json: bool) -> None:
    """Where NAME's deployment stands: stable version, split, rollout phase, step and gates."""
    keep = open_keep(ctx)
    state, gates = keep.deployment(name), keep.deployment_gates(name)
    drill = keep.drill_status(name)  # docs/loadtest.md: warn when the last drill is old
    if drill.warning:
        click.echo(f"warning: {drill.warning}", err=True)
    if as_json:
        emit_json({**state.to_dict(), "gates": [g.to_dict() for g in gates], "drill": drill})
        return
    last = drill.last
    _describe(state, gates, (("last drill", "never" if last is None else
                              f"{last.at} ({'passed' if last.passed else 'failed'})"),))


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
@click.option("--at", "at", default=None, metavar="TIME",
              help="Only what served at this moment (ISO 8601, e.g. 2026-12-02T03:30Z).")
@json_option
@click.pass_context
def history(ctx: click.Context, name: str, at: str | None, as_json: bool) -> None:
    """What NAME served when: every change of traffic or configuration, with the versions and
    split it involved, who, when and why."""
    periods = open_keep(ctx).deployment_replay(name, at)
    if as_json:
        emit_json([p.to_dict() for p in periods])
        return
    if at is not None and not periods:
        click.echo(f"{name}: nothing was deployed at {at}")
        return
    table(f"deployment history of {name}" + (f" at {at}" if at else ""),
          ["at", "until", "action", "split", "changes", "author", "reason"],
          [(p.at, p.until or "now", p.action, _split_text(p), "; ".join(p.changes) or "-",
            p.author, p.reason) for p in periods])


rollback = _change_command(
    "rollback", "All of NAME's traffic to its last stable version: a running rollout is "
    "aborted, otherwise the stable version before the current one serves again.")

deploy.add_command(shadow_report)
for _command in (ab.split, ab.end, ab.report):
    deploy.add_command(_command)
