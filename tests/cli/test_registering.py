"""register on the command line: identical content, and what `register .` leaves out."""

from __future__ import annotations

import json

from support import cli_run

from modelkeep.keep import Keep
from modelkeep.storage.tree import read_tree


def test_identical_register_on_the_cli_says_which_version_and_exits_0(project):
    cli_run("register", "bert", "model")
    out = cli_run("register", "bert", "model")
    assert "identical to bert@1.0.0" in out.output and "no new version" in out.output
    cli_run("register", "bert", "model", "--allow-same")
    assert [v["version"] for v in json.loads(cli_run("list", "bert", "--json").stdout)] == [
        "1.0.0", "1.0.1"]


def test_register_dot_skips_the_keep_pointers_and_their_gitignore_lines(project):
    (project / "model" / "notes.mk").write_text("rules.mk is a user's Makefile fragment\n")
    cli_run("add", "model/model.bin")  # writes model/model.bin.mk and a .gitignore line
    (project / ".gitignore").write_text("*.pyc\n")
    (project / "model" / ".gitignore").write_text("*.log\n/model.bin\n")
    cli_run("register", "bert", ".")
    listing = json.loads(cli_run("show", "bert@1.0.0", "--json").stdout)
    keep = Keep.open(project)
    paths = [e.path for e in read_tree(keep.store, listing["tree_id"])]
    assert not any(p.startswith(".modelkeep") for p in paths), paths
    assert "model/model.bin.mk" not in paths
    assert {"model/model.bin", "model/notes.mk", ".gitignore", "model/config.json"} <= set(paths)
    restored = project / "restored"
    cli_run("checkout", "bert@1.0.0", str(restored))
    assert (restored / "model" / ".gitignore").read_text() == "*.log\n"  # modelkeep's line left out
    keep.close()


def test_a_gitignore_of_only_modelkeep_lines_is_not_registered(project):
    cli_run("add", "model/model.bin")
    cli_run("register", "bert", "model")
    out = cli_run("show", "bert@1.0.0", "--json").stdout
    assert json.loads(out)["files"] == 2  # model.bin and config.json only
