"""The ``modelkeep`` command: one click group whose subcommands load lazily (fast start-up)."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from modelkeep.cli import _startup

# command name -> "module:attribute"; modules import only when their command runs
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("modelkeep.cli.init:init", "Create a keep in a folder."),
    "register": ("modelkeep.cli.models:register", "Store a file or folder as a new model version."),
    "list": ("modelkeep.cli.models:list_cmd", "List models, or the versions of one model."),
    "show": ("modelkeep.cli.models:show", "Show a version (NAME@VERSION, @ALIAS, @latest)."),
    "migrate": ("modelkeep.cli.migrate:migrate", "Migrate the keep's database to this modelkeep's schema."),
    "diff": ("modelkeep.cli.models:diff", "What changed between two versions."),
    "export": ("modelkeep.cli.models:export", "Export metadata, or a standard format (--as)."),
    "docs": ("modelkeep.cli.docs:docs", "Write a version's model card and changelog."),
    "import": ("modelkeep.cli.models:import_cmd", "Register a version from exported metadata."),
    "note": ("modelkeep.cli.models:note", "Append a dated note to a version."),
    "metric": ("modelkeep.cli.models:metric", "Append a dated metric to a version."),
    "alias": ("modelkeep.cli.aliases:alias", "Move, remove and inspect aliases, with history."),
    "checkout": ("modelkeep.cli.store:checkout", "Restore a version's files into a folder."),
    "fsck": ("modelkeep.cli.store:fsck", "Verify every stored object; name damaged versions."),
    "push": ("modelkeep.cli.remotes:push", "Send versions to a remote (only missing objects)."),
    "pull": ("modelkeep.cli.remotes:pull", "Fetch versions, or the files of .mk pointers, from a remote."),
    "remote": ("modelkeep.cli.remotes:remote", "Add, list and remove remotes (path, s3, gcs, azure)."),
    "gc": ("modelkeep.cli.gc:gc", "Delete unreachable objects; prune versions outside retention."),
    "add": ("modelkeep.cli.files:add", "Store a file or folder and write a .mk pointer for Git."),
    "export-lfs": ("modelkeep.cli.files:export_lfs", "Write Git LFS pointers and objects for a version."),
    "import-lfs": ("modelkeep.cli.files:import_lfs", "Store a Git LFS checkout, checking each SHA-256."),
    "schema": ("modelkeep.cli.schema:schema", "Print the metadata JSON Schema."),
    "demo": ("modelkeep.cli.demo:demo", "Walk through modelkeep on a generated project."),
    "run": ("modelkeep.cli.runs:run", "Start, log to, end, or wrap (exec) a training run."),
    "runs": ("modelkeep.cli.runs:runs", "List, show and compare runs; export metric history."),
    "datasets": ("modelkeep.cli.datasets:datasets", "Dataset versions and the models that used them."),
    "gateway": ("modelkeep.cli.gateway:gateway", "Serve deployed versions over HTTP (predict, health)."),
    "deploy": ("modelkeep.cli.deploy:deploy", "Serve a version, roll one out (canary, shadow), or A/B test."),
    "rollback": ("modelkeep.cli.deploy:rollback", "All traffic back to the last stable version."),
    "purge": ("modelkeep.cli.purge:purge", "Delete logged request/response payloads (privacy)."),
    "loadtest": ("modelkeep.cli.loadtest:loadtest", "Send load to a URL (Locust); report with plots."),
    "drill": ("modelkeep.cli.drill:drill", "Rollback drill under load against a live gateway."),
    "cost": ("modelkeep.cli.cost:cost", "What hosted versions cost, per version, day or A/B arm."),
    "budget": ("modelkeep.cli.cost:budget", "Set and list spending limits of hosted versions."),
    "predict": ("modelkeep.cli.running:predict", "Run a version on JSON inputs; print its outputs."),
    "bump": ("modelkeep.cli.running:bump", "The bump a candidate needs, and why (registers nothing)."),
    "validate": ("modelkeep.cli.validate:validate", "Check a version against a policy (CI gate)."),
    "reproduce": ("modelkeep.cli.reproduce:reproduce",
                  "Lay out what a version was made from; --run re-runs it and compares."),
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            command = super().get_command(ctx, cmd_name)
        else:
            module_name, attr = target[0].split(":")
            command = getattr(importlib.import_module(module_name), attr)
        _startup.end()  # the command's module is in: collect garbage again
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # short help from the table above: --help imports no command module
        rows = [(name, COMMANDS[name][1]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            from modelkeep.errors import did_you_mean

            hint = did_you_mean(args[0], self.list_commands(ctx)) if args else None
            if hint:
                message = f"{exc.message.rstrip('.')}. {hint[0].upper()}{hint[1:]}"
                raise click.UsageError(message, ctx=exc.ctx) from None
            raise

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # errors then print as JSON too; what follows "--" belongs to a wrapped command (run exec)
        own = args[:args.index("--")] if "--" in args else args
        ctx.meta["modelkeep.json"] = "--json" in own
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        from modelkeep.errors import ModelkeepError

        try:
            return super().invoke(ctx)
        except ModelkeepError as exc:
            from modelkeep.cli._errors import report

            ctx.exit(report(exc, as_json=ctx.meta.get("modelkeep.json", False)))
        except KeyboardInterrupt:
            from modelkeep.cli._errors import report_interrupt

            ctx.exit(report_interrupt(ctx.invoked_subcommand))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="modelkeep", prog_name="modelkeep")
@click.option("--keep", "keep_path", metavar="PATH|URL", envvar="MODELKEEP_KEEP",
              help="Keep to use: a folder, or a database URL with MODELKEEP_STORE_URL (default: "
              "found by walking up from the current folder). One that does not exist is an error.")
@click.pass_context
def cli(ctx: click.Context, keep_path: str | None) -> None:
    """modelkeep: version AI models end to end, from training run to production traffic."""
    ctx.ensure_object(dict)["keep_path"] = keep_path  # a caller's obj (open_keep) is kept


def main() -> None:
    """Console-script entry point."""
    _startup.begin()
    sys.exit(cli.main(prog_name="modelkeep", standalone_mode=True))
