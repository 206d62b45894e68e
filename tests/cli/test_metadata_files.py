"""--metadata, export and import through the CLI, with malformed files refused cleanly."""

from __future__ import annotations

import json

import pytest
from support import cli_run as run

YAML = """\
# owned by the search team
identity:
  name: ranker
  version: 0.0.0
  team: search   # who to page
performance:
  metrics: {ndcg: 0.71}
"""


def test_register_with_yaml_metadata_then_export_all_formats(project):
    (project / "meta.yaml").write_text(YAML)
    run("register", "ranker", "model", "--metadata", "meta.yaml", "--metric", "mrr=0.5")
    view = json.loads(run("show", "ranker", "--json").stdout)
    assert view["metadata"]["identity"]["team"] == "search"
    assert view["metrics"] == {"ndcg": 0.71, "mrr": 0.5}
    for fmt in ("json", "yaml", "proto"):
        run("export", "ranker@1.0.0", "--format", fmt, "-o", f"out.{fmt}")
    exported = json.loads((project / "out.json").read_text())
    assert exported["identity"]["version"] == "1.0.0"
    assert exported["components"]["artifacts"]["tree"] == view["tree_id"]


@pytest.mark.parametrize("fmt", ["json", "yaml", "proto"])
def test_export_then_import_into_another_keep(project, tmp_path_factory, fmt):
    run("register", "ranker", "model", "--param", "depth=6")
    suffix = {"json": "json", "yaml": "yaml", "proto": "pb"}[fmt]
    out = project / f"export.{suffix}"
    run("export", "ranker@1.0.0", "--format", fmt, "-o", str(out))
    other = tmp_path_factory.mktemp("other")
    run("init", str(other))
    run("--keep", str(other), "import", str(out), "--artifacts", "model")
    view = json.loads(run("--keep", str(other), "show", "ranker@1.0.0", "--json").stdout)
    assert view["params"] == {"depth": 6}
    source = json.loads(run("show", "ranker@1.0.0", "--json").stdout)
    assert view["tree_id"] == source["tree_id"]


def test_import_without_artifacts_needs_them_in_the_store(project, tmp_path_factory):
    run("register", "ranker", "model")
    run("export", "ranker", "--format", "json", "-o", "e.json")
    other = tmp_path_factory.mktemp("other")
    run("init", str(other))
    result = run("--keep", str(other), "import", "e.json", code=None)
    assert result.exit_code == 3 and "not in this keep's store" in result.stderr
    # in the same keep the objects are present: import under a new name works
    run("import", "e.json", "--name", "ranker-copy")
    assert json.loads(run("show", "ranker-copy", "--json").stdout)["version"] == "1.0.0"


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("bad.json", "{not json", "meta"),
        ("bad.yaml", "identity: [unclosed", "meta"),
        ("bad.pb", "\x08\x96\x01garbage-not-a-message\xff", "meta"),
        ("missing.yaml", "identity:\n  team: x\n", "name"),
        ("wrongtype.json", '{"name": "x", "version": "1.0.0", "tags": "not-a-list"}', "tags"),
        ("meta.txt", "name: x", "meta"),
    ],
)
def test_malformed_metadata_is_one_line_and_writes_nothing(project, filename, content, message):
    (project / filename).write_bytes(content.encode("latin-1"))
    result = run("register", "ranker", "model", "--metadata", filename, code=None)
    assert result.exit_code == 2, result.output
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: ") and message in first.lower()
    assert "Traceback" not in result.output
    assert json.loads(run("list", "--json").stdout) == []
    objects = [p for p in (project / ".modelkeep" / "objects").rglob("*") if p.is_file()]
    assert objects == []


def test_metadata_naming_another_model_is_refused(project):
    (project / "m.yaml").write_text("name: other\nversion: 1.0.0\n")
    result = run("register", "ranker", "model", "--metadata", "m.yaml", code=None)
    assert result.exit_code == 2 and "names model 'other'" in result.stderr


def test_schema_command_prints_json_schema(project):
    schema = json.loads(run("schema").stdout)
    assert "identity" in schema["properties"]


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_a_5000_digit_integer_is_one_line_not_a_traceback(project, suffix):
    digits = "9" * 5000
    body = (f"name: m\nversion: 1.0.0\ncomponents: {{hyperparameters: {{big: {digits}}}}}\n"
            if suffix == "yaml" else
            f'{{"name": "m", "version": "1.0.0", "components": {{"hyperparameters": {{"big": {digits}}}}}}}')
    (project / f"meta.{suffix}").write_text(body)
    result = run("register", "m", "model", "--metadata", f"meta.{suffix}", code=2)
    assert result.stderr.splitlines()[0].startswith(f"error: meta.{suffix}: metadata ")
    assert "more than 100 digits" in result.stderr and "Traceback" not in result.stderr
    assert run("list", "--json").stdout.strip() == "[]"


def test_an_alias_bomb_is_refused_before_anything_is_stored(project):
    lines = ["x0: &x0 {" + ", ".join(f"m{i}: 1.5" for i in range(10)) + "}"]
    lines += [f"x{n}: &x{n} [" + ", ".join([f"*x{n - 1}"] * 10) + "]" for n in range(1, 8)]
    (project / "bomb.yaml").write_text("\n".join(lines) + "\nname: m\nversion: 1.0.0\n")
    result = run("register", "m", "model", "--metadata", "bomb.yaml", code=2)
    assert "aliases that expand to more than" in result.stderr
    assert run("list", "--json").stdout.strip() == "[]"


def test_undecodable_param_bytes_are_refused_not_stored(project):
    # a non-UTF-8 byte on the command line arrives as a lone surrogate ('\udcff')
    result = run("register", "m", "model", "--param", "x=\udcff", code=2)
    assert "surrogate" in result.stderr
    assert run("list", "--json").stdout.strip() == "[]"


def test_a_lone_surrogate_in_metadata_never_reaches_export(project):
    (project / "meta.yaml").write_text('name: m\nversion: 1.0.0\ndescription: "a\\ud800b"\n')
    result = run("register", "m", "model", "--metadata", "meta.yaml", code=2)
    assert "identity.description" in result.stderr and "surrogate" in result.stderr


@pytest.mark.parametrize("value", ["[" * 100_000, "9" * 5000, '{"a": ' * 5000])
def test_hostile_param_values_are_kept_as_text_not_a_traceback(project, value):
    run("register", "m", "model", "--param", f"x={value}")
    view = json.loads(run("show", "m@1.0.0", "--json").stdout)
    assert view["params"] == {"x": value}  # not a JSON scalar: kept as the text given
