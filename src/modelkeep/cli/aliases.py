"""``modelkeep alias``: point names such as production or staging at versions, with history."""

from __future__ import annotations

import click

from modelkeep.cli._output import emit_json, json_option, open_keep, table


@click.group()
def alias() -> None:
    """Move, remove and inspect aliases (production, staging, champion, any name)."""


@alias.command("set")
@click.argument("name")
@click.argument("alias_name", metavar="ALIAS")
@click.argument("version")
@click.option("--reason", default="", help="Why it moved (kept in the history).")
@click.option("--force", is_flag=True,
              help="Move a protected alias onto a version without a passing validation "
                   "(needs --reason; recorded as forced in the history).")
@click.pass_context
def set_cmd(ctx: click.Context, name: str, alias_name: str, version: str, reason: str,
            force: bool) -> None:
    """Point ALIAS of model NAME at VERSION.

    A protected alias (production by default) moves only onto a version whose latest
    'modelkeep validate' passed, unless --force with a --reason.
    """
    move = open_keep(ctx).set_alias(name, alias_name, version, reason, force=force)
    click.echo(f"{name}@{move.alias} -> {move.version}" + (" (forced)" if move.forced else ""))


@alias.command("rm")
@click.argument("name")
@click.argument("alias_name", metavar="ALIAS")
@click.option("--reason", default="", help="Why it was removed (kept in the history).")
@click.pass_context
def rm_cmd(ctx: click.Context, name: str, alias_name: str, reason: str) -> None:
    """Unset ALIAS of model NAME (its history is kept)."""
    open_keep(ctx).remove_alias(name, alias_name, reason)
    click.echo(f"{name}@{alias_name} removed")


@alias.command("list")
@click.argument("name")
@json_option
@click.pass_context
def list_cmd(ctx: click.Context, name: str, as_json: bool) -> None:
    """The aliases of model NAME and where they point now."""
    current = open_keep(ctx).aliases(name)
    if as_json:
        emit_json(current)
        return
    table(f"aliases of {name}", ["alias", "version"], sorted(current.items()))


@alias.command("history")
@click.argument("name")
@click.argument("alias_name", metavar="[ALIAS]", required=False)
@json_option
@click.pass_context
def history_cmd(ctx: click.Context, name: str, alias_name: str | None, as_json: bool) -> None:
    """Every move of ALIAS (or of all aliases) of NAME: to which version, who and when."""
    moves = open_keep(ctx).alias_history(name, alias_name)
    if as_json:
        emit_json(moves)
        return
    table(f"alias history of {name}", ["when", "alias", "version", "who", "reason"],
          [(m.moved_at, m.alias, m.version or "(removed)", m.author, m.reason) for m in moves])
