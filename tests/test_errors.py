"""Every error names a next step, and --json is read from modelkeep's own arguments only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from modelkeep import errors


def _classes() -> list[type[errors.ModelkeepError]]:
    found, todo = [], [errors.ModelkeepError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_every_error_class_has_its_own_hint() -> None:
    generic = errors.ModelkeepError.default_hint
    for cls in _classes():
        if cls is errors.ModelkeepError:
            continue
        assert cls.default_hint and cls.default_hint != generic, cls.__name__
        assert "\n" not in cls.default_hint


def test_a_raise_site_without_a_hint_gets_the_class_hint() -> None:
    err = errors.VersionNotFoundError("no version 9.9.9 of bert")
    assert err.hint == "see the versions: modelkeep list NAME"
    assert err.to_dict()["error"]["hint"] == err.hint
    assert errors.VersionNotFoundError("x", hint="pull it").hint == "pull it"


def test_json_errors_follow_modelkeeps_own_flag_not_the_wrapped_commands(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "modelkeep", *args], cwd=tmp_path,
                              capture_output=True, text=True)

    # no keep here: run exec fails before starting the command, with modelkeep's error
    wrapped = run("run", "exec", "--", sys.executable, "train.py", "--json")
    assert wrapped.returncode == 3 and wrapped.stderr.startswith("error: no modelkeep keep")
    own = run("list", "--json")
    assert json.loads(own.stderr)["error"]["code"] == "keep_not_found"
