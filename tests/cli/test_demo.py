"""`modelkeep demo` is the README's main job: it must run end to end on a fresh machine."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path):
    folder = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "modelkeep", "demo", str(folder)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    for expected in ["registered demo-classifier@1.0.0", "registered demo-classifier@1.0.1",
                     "need a major bump", "registered demo-classifier@2.0.0",
                     "demo-classifier@staging -> 1.0.1", "~ model.safetensors",
                     "0 corrupt, 0 missing", "sent 0 objects", "Pulled demo-classifier@2.0.0",
                     # issue 10: run, bump, validate, protect, document and reproduce versions
                     '{"probability": [0.', "demo-classifier@2.0.0 -> ",
                     "FAILED: 1 of 6 checks", "PASSED: 6 checks",
                     "demo-classifier@production -> 1.0.1", "# demo-classifier@1.0.1",
                     "files 3/3 match, metrics 5/5 match",
                     "reproduced demo-classifier@1.0.1: artifacts by id"]:
        assert expected in out, expected
    assert "error: demo-classifier@production is protected: demo-classifier@2.0.0 failed" \
        in proc.stderr  # the protected alias refused the version that failed its gate
    listed = subprocess.run([sys.executable, "-m", "modelkeep", "--keep", str(folder), "list",
                             "demo-classifier", "--json"], capture_output=True, text=True,
                            check=True)
    versions = json.loads(listed.stdout)
    assert [v["version"] for v in versions] == ["1.0.0", "1.0.1", "2.0.0"]
    assert all(v["run_id"] for v in versions)  # every version points to the run behind it
    restored = folder / "teammate" / "model" / "model.safetensors"
    assert restored.read_bytes()[:8] != b""
    again_dir = folder / "reproduced"  # the reproduction: the pipeline's files and datasets
    assert (again_dir / "train.py").read_bytes() == (folder / "train.py").read_bytes()
    assert (again_dir / "data" / "train" / "data.csv").is_file()
    assert "<testsuite" in (folder / "validation.xml").read_text()  # the passing gate, as JUnit
    _check_yaml_listing_is_whole_lines(out, (folder / "exported.yaml").read_text())
    _check_at_runs_for_real(out)
    again = subprocess.run([sys.executable, "-m", "modelkeep", "demo", str(folder)],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode != 0, again.stdout[-2000:]  # a used folder is refused, clearly
    assert "Traceback" not in again.stderr
    assert [line for line in again.stderr.splitlines() if line.startswith("error:")] == [
        f"error: {folder} is not empty (a previous demo?): the demo needs a new folder"]
    assert "hint: run 'modelkeep demo' with no folder" in again.stderr


def _check_yaml_listing_is_whole_lines(out: str, yaml_text: str) -> None:
    """The demo shows the start of the exported YAML as whole lines, never cut mid-word."""
    after = out.split("-o exported.pb\n", 1)[1]
    shown = after.split("\n# ", 1)[0].strip("\n").splitlines()
    listing = [line for line in shown if not line.startswith(("Wrote ", "$ "))]
    assert listing[-1].startswith("... (") and listing[-1].endswith("more lines in exported.yaml)")
    assert listing[:-1] == yaml_text.splitlines()[: len(listing) - 1]


def _check_at_runs_for_real(out: str) -> None:
    """`show --at TIME` runs with a time from the alias history, and answers the old target."""
    command = next(line for line in out.splitlines() if " --at " in line and line.startswith("$"))
    assert command.startswith("$ modelkeep show demo-classifier@staging --at 20")
    answer = out.split(command, 1)[1].split("\n$ ", 1)[0]
    assert "demo-classifier@1.0.0" in answer
