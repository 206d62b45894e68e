"""The README's first session is examples/first-session.sh, and it runs as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "first-session.sh"


def _first_session_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## A first session\n", 1)[1]
    found = re.search(r"```sh\n(.*?)```", section, re.S)
    assert found, "no sh block under 'A first session'"
    return found.group(1)


def test_the_readme_shows_the_script_verbatim():
    assert _first_session_block() == SCRIPT.read_text()


def test_the_first_session_runs_as_written(tmp_path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("MODELKEEP_KEEP", None)
    proc = subprocess.run(["bash", "-euo", "pipefail", str(SCRIPT)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "Registered bert@1.0.0" in out and "Registered bert@1.1.0" in out
    assert "identical to bert@1.1.0" in out and "bert@1.2.0" not in out
    shown_at = out.split("version  ", 1)[1].split("\n", 1)[0]
    assert shown_at == "bert@1.0.0"  # show --at answered where production pointed then
    assert "description: sentiment of product reviews" in out  # inherited into 1.1.0's export
    assert (tmp_path / "serving" / "weights.bin").read_text() == "weights retrained on more reviews"
    assert "0 corrupt, 0 missing" in out
