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
                     "demo-classifier@production -> 1.0.1", "~ model.safetensors",
                     "0 corrupt, 0 missing", "sent 0 objects", "Pulled demo-classifier@2.0.0"]:
        assert expected in out, expected
    listed = subprocess.run([sys.executable, "-m", "modelkeep", "--keep", str(folder), "list",
                             "demo-classifier", "--json"], capture_output=True, text=True,
                            check=True)
    versions = json.loads(listed.stdout)
    assert [v["version"] for v in versions] == ["1.0.0", "1.0.1", "2.0.0"]
    assert all(v["run_id"] for v in versions)  # every version points to the run behind it
    restored = folder / "teammate" / "model" / "model.safetensors"
    assert restored.read_bytes()[:8] != b""
