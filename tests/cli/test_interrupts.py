"""Ctrl-C, typos and help text: what a user meets when things do not go to plan.

The Ctrl-C tests run the real CLI in a subprocess and send it a real SIGINT while it is busy,
as a terminal does. They wait for a sign of work in progress (a temporary file) before sending.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import cli_run

BIG = 1536 << 20  # large enough that writing it takes a while on any disk here


@pytest.fixture(scope="module")
def big_keep(tmp_path_factory) -> Path:
    """A keep holding one large version of random (incompressible, unique-chunk) bytes."""
    root = tmp_path_factory.mktemp("big")
    model = root / "model"
    model.mkdir()
    rng = random.Random(8)
    with open(model / "weights.bin", "wb") as f:
        for _ in range(BIG >> 24):
            f.write(rng.randbytes(1 << 24))
    _mk(root, "init", str(root))
    _mk(root, "register", "big", str(model))
    return root


def _mk(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "modelkeep", "--keep", str(root), *args],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc


def _interrupt_when(args: list[str], cwd: Path, busy) -> tuple[subprocess.Popen[str], float]:
    """Start the CLI, wait until ``busy()`` says it is mid-work, send SIGINT; return the
    process and how long it took to exit after the signal."""
    proc = subprocess.Popen([sys.executable, "-m", "modelkeep", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not busy():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.001)
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    proc.wait(timeout=120)
    return proc, time.monotonic() - sent


@pytest.mark.slow
def test_ctrl_c_during_a_large_checkout_stops_and_leaves_no_partial_file(big_keep):
    dest = big_keep / "serving"

    def writing() -> bool:
        return dest.is_dir() and any(p.name.endswith(".mk-tmp") for p in dest.iterdir())

    proc, took = _interrupt_when(["--keep", str(big_keep), "checkout", "big@1.0.0", str(dest),
                                  "--link", "copy"], big_keep, writing)
    err = proc.stderr.read()  # type: ignore[union-attr]
    assert proc.returncode == 130, err
    assert "Aborted!" not in err and "Traceback" not in err
    assert "interrupted" in err and "no partial file" in err
    assert sorted(p.name for p in dest.iterdir()) == []  # neither the file nor its temporary
    assert took < 5  # it stopped mid-file rather than finishing the 1.5 GiB first


@pytest.mark.slow
def test_ctrl_c_during_register_exits_130_and_says_nothing_was_registered(big_keep, tmp_path):
    keep = tmp_path / "fresh"
    _mk(keep, "init", str(keep))
    staging = keep / ".modelkeep" / "tmp"

    def storing() -> bool:
        return any(staging.iterdir())

    proc, _ = _interrupt_when(["register", "big", str(big_keep / "model")], keep, storing)
    err = proc.stderr.read()  # type: ignore[union-attr]
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[0].startswith("interrupted: no version was registered")
    assert "Traceback" not in err
    listed = json.loads(_mk(keep, "list", "--json").stdout)
    assert listed == []


def test_a_top_level_typo_gets_a_clean_suggestion(project):
    out = cli_run("regster", code=2)
    assert "No such command 'regster'. Did you mean 'register'?" in out.output
    assert ".;" not in out.output


def test_register_help_says_what_bump_defaults_to(project):
    text = " ".join(cli_run("register", "--help").output.split())
    assert "default: patch" not in text
    assert "the smallest bump the changes since the previous version need" in text
