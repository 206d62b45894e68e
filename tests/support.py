"""Helpers for tests that need something of the machine (a tool, a second filesystem)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest
from click.testing import CliRunner, Result

from modelkeep.cli.main import cli


def skip_outside_ci(reason: str) -> NoReturn:
    """Skip with ``reason`` on a developer's machine; under CI=true the test must run, so fail."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"this test must run in CI, but: {reason}")
    pytest.skip(reason)


def cli_run(*args: str, code: int | None = 0) -> Result:
    """Run the CLI in-process; assert its exit code unless ``code`` is None."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    if code is not None:
        assert result.exit_code == code, result.output
    return result


def one_line_error(result: Result, *fragments: str) -> str:
    """Assert the CLI printed exactly ``error: …`` and ``hint: …`` (no traceback), the error
    line containing each of ``fragments``; returns the error line."""
    err = result.stderr
    lines = err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), err
    for fragment in fragments:
        assert fragment in lines[0], err
    return lines[0]


def _mount(*args: str) -> None:
    import subprocess

    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        skip_outside_ci(f"cannot mount here (needs root): {done.stderr.strip()}")


def _unmount(path: Path) -> None:
    import subprocess

    if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(path)], check=True)  # still busy: detach it


@contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """Make the file or folder ``path`` read-only for everyone, root included (a read-only bind
    mount of it over itself: writes fail with EROFS, as on a read-only volume)."""
    _mount("--bind", str(path), str(path))
    try:
        _mount("-o", "remount,ro,bind", str(path))
        yield path
    finally:
        _unmount(path)


@contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` (e.g. "4m") mounted on the new folder ``path``: a disk that fills up."""
    path.mkdir(parents=True)
    _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
    try:
        yield path
    finally:
        _unmount(path)


def fill_disk(folder: Path) -> Path:
    """Write a file in ``folder`` until its filesystem is full; returns the file."""
    import errno

    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as f:
        block = b"\0" * 65536
        while True:
            try:
                f.write(block)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                if len(block) == 1:
                    return filler
                block = block[: len(block) // 2]


# a policy every registered version passes: its metadata snapshot always holds its name
PASSING_POLICY = "# for tests: production needs a passing validation\nrequired: [name]\n"


def pass_validation(keep, *refs: str) -> None:
    """Validate each version with ``PASSING_POLICY``, so a protected alias (production) may
    point at it: for tests whose subject is something else than the validation gate."""
    policy = keep.settings.root / "tests-passing-policy.yaml"
    policy.write_text(PASSING_POLICY)
    for ref in refs:
        assert keep.validate(ref, policy).passed
