"""A snapshot checked by the pydantic models (a timestamp not in the registry's own form sends
it there; see tests/registry/test_snapshot_plain.py for the path without them) imports the
models alone: the JSON, YAML and Protocol Buffers readers are not imported (~0.1 s a process)."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from modelkeep.registry.snapshot import build_snapshot
snap = build_snapshot(None, name="m", version="1.0.0", created="2026-01-01T00:00:00Z",
                      author="a", tree_id="0" * 64, size=1, params={"lr": 0.1},
                      metrics={"acc": 0.5})
assert snap["identity"]["id"] == "m@1.0.0"
print(sorted(m for m in sys.modules if m.startswith(("modelkeep.schema", "google", "yaml"))))
"""


def test_snapshot_check_imports_no_format_reader() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True).stdout
    loaded = eval(out)  # a printed list of module names
    assert "modelkeep.schema.metadata" in loaded
    assert not [m for m in loaded if m.startswith(("google", "yaml", "modelkeep.schema.formats",
                                                   "modelkeep.schema.protoio"))]


def test_every_public_name_still_imports() -> None:
    import modelkeep.schema as schema

    assert sorted(schema._EXPORTS) == sorted(schema.__all__)
    for name in schema.__all__:
        assert getattr(schema, name) is not None
