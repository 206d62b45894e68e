"""One CLI session touching every command group with --json, and the key shape of each answer.

Shared by tests/cli/test_json_shapes.py, whose expected shapes (tests/cli/json_shapes.json) were
recorded by running this file as a script on the code before result types replaced dicts.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from modelkeep.cli.main import cli

# mappings whose keys are not the result types' fields: the frameworks a process had imported
# (data), and a version's metadata snapshot (the schema's fields, pinned by tests/schema)
OPAQUE = {"frameworks", "metadata"}


def shape(value: Any) -> Any:
    """The keys of ``value``, nested: a dict's keys in order, a list by its first item."""
    if isinstance(value, dict):
        return {k: {} if k in OPAQUE else shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


def _json(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, (args, result.output)
    return json.loads(result.stdout)


def session(root: Path) -> dict[str, Any]:
    """Run the commands in ``root`` (made a keep); command label -> parsed JSON output."""
    os.chdir(root)
    os.environ.pop("MODELKEEP_RUN_ID", None)
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0
    model = root / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"weights-v1" * 100)
    (model / "config.json").write_text('{"layers": 2}')
    (root / "data").mkdir()
    (root / "data" / "train.csv").write_text("a\n1\n")
    out: dict[str, Any] = {}
    out["register"] = _json("register", "bert", "model", "--param", "lr=0.1", "--metric",
                            "acc=0.9", "--json")
    (model / "weights.bin").write_bytes(b"weights-v2" * 100)
    _json("register", "bert", "model", "--bump", "minor", "--json")
    CliRunner().invoke(cli, ["alias", "set", "bert", "production", "1.0.0", "--force",
                             "--reason", "json shapes"])
    CliRunner().invoke(cli, ["note", "bert@1.0.0", "shipped"])
    out["list"] = _json("list", "--json")
    out["list NAME"] = _json("list", "bert", "--json")
    out["show"] = _json("show", "bert@production", "--json")
    out["diff"] = _json("diff", "bert@1.0.0", "bert@1.1.0", "--json")
    out["alias list"] = _json("alias", "list", "bert", "--json")
    out["alias history"] = _json("alias", "history", "bert", "--json")
    out["checkout"] = _json("checkout", "bert@1.0.0", "out", "--json")
    out["fsck"] = _json("fsck", "--json")
    out["gc"] = _json("gc", "--dry-run", "--json")
    CliRunner().invoke(cli, ["remote", "add", "origin", str(root / "remote")])
    out["remote list"] = _json("remote", "list", "--json")
    out["push"] = _json("push", "--json")
    out["pull"] = _json("pull", "bert@1.0.0", "--json")
    (root / "tracked").write_bytes(b"tracked file")
    out["add"] = _json("add", "tracked", "--json")
    out["checkout pointers"] = _json("checkout", "--json")
    out["pull pointers"] = _json("pull", "--json")
    out["export-lfs"] = _json("export-lfs", "bert@1.0.0", "lfs", "--objects", "lfs-objects",
                              "--json")
    out["import-lfs"] = _json("import-lfs", "lfs", "--objects", "lfs-objects", "--name", "lfs",
                              "--json")
    out["run start"] = _json("run", "start", "--model", "bert", "--no-capture", "--param",
                             "lr=0.1", "--json")
    first = out["run start"]["id"]
    CliRunner().invoke(cli, ["run", "log", "--run", first, "--metric", "loss=0.5",
                             "--dataset", "data"])
    CliRunner().invoke(cli, ["run", "end", "--run", first])
    second = _json("run", "start", "--model", "bert", "--no-capture", "--param", "lr=0.2",
                   "--json")["id"]
    out["runs list"] = _json("runs", "list", "--json")
    out["runs show"] = _json("runs", "show", first, "--json")
    out["runs compare"] = _json("runs", "compare", first, second, "--json")
    out["runs metrics"] = _json("runs", "metrics", first, "loss", "--format", "json")
    out["datasets list"] = _json("datasets", "list", "--json")
    out["datasets show"] = _json("datasets", "show", "data", "--json")
    return out


if __name__ == "__main__":  # python tests/json_session.py DIR: print every shape
    answers = session(Path(sys.argv[1]))
    print(json.dumps({label: shape(value) for label, value in answers.items()}, indent=1))
