"""First-contact errors: a missing optional dependency, and imports whose files do not match."""

from __future__ import annotations

import subprocess
import sys

from support import cli_run as run

# An import blocker, named honestly: the test venv has psycopg installed (the PostgreSQL tests
# need it), so the CLI runs in a subprocess where ``import psycopg`` is made to fail, exactly
# as it fails where the postgres extra was never installed.
_WITHOUT_PSYCOPG = (
    "import sys; sys.modules['psycopg'] = None; "  # a None entry makes the import raise
    "from modelkeep.cli.main import main; sys.argv = ['modelkeep', *sys.argv[1:]]; main()"
)


def test_init_with_postgres_but_without_psycopg_says_what_to_install(tmp_path):
    target = tmp_path / "team-keep"
    proc = subprocess.run(
        [sys.executable, "-c", _WITHOUT_PSYCOPG, "init", str(target),
         "--database-url", "postgresql://postgres@127.0.0.1:5432/test"],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    error = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "pip install 'modelkeep[postgres]'" in proc.stderr
    assert not target.exists()  # nothing made, not even the folder


def test_import_refuses_artifacts_that_differ_from_the_exported_tree(project, tmp_path_factory):
    run("register", "ranker", "model")
    run("export", "ranker@1.0.0", "-o", "e.json")
    (project / "model" / "model.bin").write_bytes(b"other weights")
    other = tmp_path_factory.mktemp("other")
    run("init", str(other))
    result = run("--keep", str(other), "import", "e.json", "--artifacts", "model", code=None)
    assert result.exit_code == 2, result.output
    exported = __import__("json").loads((project / "e.json").read_text())
    expected = exported["components"]["artifacts"]["tree"]
    assert expected[:12] in result.output
    assert "hint:" in result.output
    assert run("--keep", str(other), "list", "--json").stdout.strip() == "[]"


def test_init_with_an_unreachable_postgres_makes_nothing(tmp_path):
    target = tmp_path / "team-keep"
    result = run("init", str(target), "--database-url", "postgresql://postgres@127.0.0.1:1/none",
                 code=6)
    assert "cannot connect to PostgreSQL" in result.output
    assert not target.exists()
