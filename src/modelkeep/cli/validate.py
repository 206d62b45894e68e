"""``modelkeep validate``: check a version against a policy file, for people and for CI."""

from __future__ import annotations

import os
from pathlib import Path

import click

from modelkeep.cli._output import emit_json, json_option, json_text, open_keep, table

FAILED_EXIT = 1  # a check failed (errors such as a bad policy exit 2-6, see docs/errors.md)


def _report_path(value: Path | None, option: str) -> Path | None:
    """A report file's path, refused before validating when its folder does not exist."""
    if value is None:
        return None
    if not value.parent.is_dir() or value.is_dir():
        from modelkeep.errors import PathNotFoundError

        raise PathNotFoundError(f"{option} {value}: no such folder to write the report in"
                                if not value.is_dir() else f"{option} {value} is a folder",
                                path=str(value))
    return value


def _write(path: Path, data: bytes) -> None:
    """Write a report whole or not at all (a reader never sees half a file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


@click.command()
@click.argument("ref", metavar="NAME@VERSION")
@click.option("--policy", "policy_file", required=True, type=click.Path(path_type=Path),
              help="Policy file (YAML) naming the checks: see docs/validation.md.")
@click.option("--junit", "junit_file", type=click.Path(path_type=Path), metavar="FILE",
              help="Also write the result as JUnit XML (for CI test reports).")
@click.option("--report-json", "json_file", type=click.Path(path_type=Path), metavar="FILE",
              help="Also write the result as JSON.")
@json_option
@click.pass_context
def validate(ctx: click.Context, ref: str, policy_file: Path, junit_file: Path | None,
             json_file: Path | None, as_json: bool) -> None:
    """Check NAME@VERSION against a policy: required metadata, metric thresholds and
    comparisons, resource budgets, signature compatibility, staging replay.

    Prints each check with its numbers, stores the result with the version, and exits 1
    when any check failed (0 when all passed).
    """
    junit_file = _report_path(junit_file, "--junit")
    json_file = _report_path(json_file, "--report-json")
    report = open_keep(ctx).validate(ref, policy_file)
    if junit_file is not None:
        _write(junit_file, report.to_junit())
    if json_file is not None:
        _write(json_file, (json_text(report) + "\n").encode())
    if as_json:
        emit_json(report)
    else:
        table(f"validation of {report.ref} ({report.policy}, policy {report.policy_hash[:12]})",
              ["check", "result", "numbers"],
              [(c.name, "pass" if c.passed else "FAIL", c.detail) for c in report.checks])
        failed = len(report.failures)
        verdict = (f"PASSED: {len(report.checks)} checks" if report.passed
                   else f"FAILED: {failed} of {len(report.checks)} checks")
        click.echo(f"{verdict} in {report.duration_s:.2f} s (stored with {report.ref})")
    if not report.passed:
        ctx.exit(FAILED_EXIT)
