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
    shown_at = out.split("version  ", 1)[1].split("\n", 1)[0].strip()
    assert shown_at == "bert@1.0.0"  # show --at answered where production pointed then
    assert "description: sentiment of product reviews" in out  # inherited into 1.1.0's export
    assert (tmp_path / "serving" / "weights.bin").read_text() == "weights retrained on more reviews"
    assert "0 corrupt, 0 missing" in out


def test_the_python_example_runs_and_runs_again(tmp_path):
    """The README's Python block, as a user pastes it into a script, twice in one keep."""
    block = re.search(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block
    (tmp_path / "example.py").write_text(block.group(1))
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.bin").write_bytes(b"weights")
    (tmp_path / "data" / "train").mkdir(parents=True)
    (tmp_path / "data" / "train" / "part-0.csv").write_text("x,y\n1,0\n")
    env = {k: v for k, v in os.environ.items() if k != "MODELKEEP_KEEP"}
    subprocess.run([sys.executable, "-m", "modelkeep", "init"], cwd=tmp_path, env=env, check=True,
                   capture_output=True)
    for version in ("1.0.0", "1.0.1"):
        proc = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, env=env,
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert "'accuracy': 0.91" in proc.stdout
        shown = subprocess.run([sys.executable, "-m", "modelkeep", "show", "bert@production", "--json"],
                               cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
        assert f'"version": "{version}"' in shown.stdout
