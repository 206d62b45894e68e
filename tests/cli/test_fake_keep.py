"""The CLI against a second implementation of the keep interface: the in-memory fake.

The fake is handed to the real commands through ``ctx.obj["open_keep"]`` (no monkeypatching,
no keep on disk), so these tests show that cli/ needs nothing but ``KeepInterface``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fake_keep import FakeKeep, open_fake

from modelkeep.cli.main import cli

RUN_A = "aaaaaaaa-0000-4000-8000-000000000001"
RUN_B = "bbbbbbbb-0000-4000-8000-000000000002"


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeKeep:
    """A fake keep with two versions of bert and two runs; the folder holds no keep at all."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MODELKEEP_KEEP", raising=False)
    keep = FakeKeep(author="ada")
    keep.register("bert", "unused", params={"lr": 0.01}, metrics={"acc": 0.9})
    keep.register("bert", "unused", params={"lr": 0.02})
    keep.add_run(RUN_A, "first", "bert", params={"lr": 0.01}, metrics={"loss": 0.5})
    keep.add_run(RUN_B, "second", "bert", status="failed")
    return keep


def mk(keep: FakeKeep, *args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, list(args), obj={"open_keep": lambda: open_fake(keep)})
    assert result.exit_code == code, result.output
    return result


def test_models_and_versions(fake: FakeKeep) -> None:
    assert "bert" in mk(fake, "list").stdout
    assert json.loads(mk(fake, "list", "--json").stdout) == [
        {"name": "bert", "created_at": fake.versions("bert")[0].created_at, "versions": 2,
         "latest": "1.1.0"}]
    fake.set_alias("bert", "production", "1.0.0")
    table = mk(fake, "list", "bert").stdout
    assert "1.0.0" in table and "production" in table and "1.1.0" in table
    listed = json.loads(mk(fake, "list", "bert", "--json").stdout)
    assert [(v["version"], v["aliases"]) for v in listed] == [("1.0.0", ["production"]),
                                                              ("1.1.0", [])]


def test_show_table_and_json(fake: FakeKeep) -> None:
    text = mk(fake, "show", "bert@1.0.0").stdout
    assert "bert@1.0.0" in text and "lr" in text and "acc" in text and "ada" in text
    view = json.loads(mk(fake, "show", "bert", "--json").stdout)
    assert (view["name"], view["version"], view["params"]) == ("bert", "1.1.0", {"lr": 0.02})
    assert list(view)[-6:] == ["aliases", "params", "metrics", "records", "inherited",
                               "metadata"]


def test_an_error_of_the_fake_is_reported_like_any_other(fake: FakeKeep) -> None:
    result = mk(fake, "show", "bert@9.9.9", code=3)
    assert "version 'bert@9.9.9' not found" in result.output
    assert json.loads(mk(fake, "show", "gpt", "--json", code=3).stderr)["error"]["code"] == \
        "model_not_found"


def test_alias_set_list_history(fake: FakeKeep) -> None:
    assert mk(fake, "alias", "set", "bert", "production", "1.0.0").stdout.strip() == \
        "bert@production -> 1.0.0"
    mk(fake, "alias", "set", "bert", "production", "1.1.0", "--reason", "better")
    assert "production" in mk(fake, "alias", "list", "bert").stdout
    assert json.loads(mk(fake, "alias", "list", "bert", "--json").stdout) == {
        "production": "1.1.0"}
    history = mk(fake, "alias", "history", "bert").stdout
    assert "better" in history and "1.0.0" in history
    moves = json.loads(mk(fake, "alias", "history", "bert", "production", "--json").stdout)
    assert [(m["version"], m["reason"], m["author"]) for m in moves] == [
        ("1.0.0", "", "ada"), ("1.1.0", "better", "ada")]
    assert list(moves[0]) == ["alias", "version", "moved_at", "author", "reason", "forced"]


def test_note_and_metric_are_appended(fake: FakeKeep) -> None:
    assert mk(fake, "note", "bert@1.0.0", "shipped to the pilot").stdout.startswith("noted at ")
    assert "acc = 0.95 recorded at" in mk(fake, "metric", "bert@1.0.0", "acc=0.95").stdout
    view = json.loads(mk(fake, "show", "bert@1.0.0", "--json").stdout)
    assert [(r["kind"], r["value"]) for r in view["records"]][-2:] == [
        ("note", "shipped to the pilot"), ("metric", 0.95)]
    assert view["metrics"] == {"acc": 0.95}
    assert "shipped to the pilot" in mk(fake, "show", "bert@1.0.0").stdout


def test_runs_list_and_show(fake: FakeKeep) -> None:
    text = mk(fake, "runs", "list").stdout
    assert "bbbbbbbb" in text and "aaaaaaaa" in text and "failed" in text
    assert text.index("bbbbbbbb") < text.index("aaaaaaaa")  # newest first
    listed = json.loads(mk(fake, "runs", "list", "--status", "finished", "--json").stdout)
    assert [(r["id"], r["params"], r["metrics"]) for r in listed] == [
        (RUN_A, {"lr": 0.01}, {"loss": 0.5})]
    assert "pk" not in listed[0] and list(listed[0])[-2:] == ["params", "metrics"]
    view = json.loads(mk(fake, "runs", "show", "aaaa", "--json").stdout)
    assert view["id"] == RUN_A and view["metrics"][0]["name"] == "loss"
    assert "first" in mk(fake, "runs", "show", "aaaa").stdout


def test_a_command_the_fake_cannot_serve_fails_and_writes_nothing(fake: FakeKeep) -> None:
    """A command the fake cannot serve fails with its own error, not a keep found on disk."""
    result = CliRunner().invoke(cli, ["checkout", "bert@1.0.0", "out"],
                                obj={"open_keep": lambda: open_fake(fake)})
    assert isinstance(result.exception, NotImplementedError)
    assert not Path("out").exists()
