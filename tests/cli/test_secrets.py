"""Secrets never shown or sent: remote list, errors, recorded command lines, exports, remotes.

Each test plants secret strings and then greps everything a user or a remote could see for them:
command output, the keep's database and objects, exports and the remote's files.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from support import cli_run as run

MAIN = "from modelkeep.cli.main import main; main()"


def _grep(root: Path, needle: bytes) -> list[str]:
    """Every file under ``root`` holding ``needle``."""
    return [str(p) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MODELKEEP_RUN_ID", raising=False)
    run("init")
    return tmp_path


def test_remote_list_masks_every_credential(project: Path) -> None:
    config = project / ".modelkeep" / "config.toml"
    assert stat.S_IMODE(config.stat().st_mode) & 0o077  # no credentials yet: the usual mode
    added = run("remote", "add", "cloud", "s3://AKIAKEYID:SECRET-URL/pw@bucket/models",
                "--endpoint-url", "http://minio:SECRET-ENDPOINT@127.0.0.1:9000",
                "--region", "eu-west-1",
                "--option", "session_token=SECRET-SESSION", "--option", "account_key=SECRET-ACCOUNT",
                "--option", "password=SECRET-PASSWORD", "--option", "secret_access_key=SECRET-SAK",
                "--option", "sas_token=SECRET-SAS", "--option", "retries=2")
    assert "SECRET" not in added.output
    table = run("remote", "list").output
    listed = json.loads(run("remote", "list", "--json").stdout)["cloud"]
    assert "SECRET" not in table and "SECRET" not in json.dumps(listed)
    assert listed == {"url": "s3://***:***@bucket/models", "region": "eu-west-1", "retries": 2,
                      "endpoint_url": "http://minio:***@127.0.0.1:9000", "session_token": "***",
                      "account_key": "***", "password": "***", "secret_access_key": "***",
                      "sas_token": "***"}
    assert "eu-west-1" in table and "session_token=***" in table
    assert stat.S_IMODE(config.stat().st_mode) == 0o600  # it holds credentials now
    assert "SECRET-SESSION" in config.read_text()  # still usable: only shown masked


def test_init_with_a_database_password_writes_config_0600(tmp_path: Path, pg_url: str) -> None:
    url = pg_url.replace("postgres@", "postgres:SECRET-PG@", 1)
    assert url != pg_url
    run("init", str(tmp_path / "k"), "--database-url", url)
    config = tmp_path / "k" / ".modelkeep" / "config.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600


def test_errors_never_print_database_passwords(project: Path, monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    url = f"postgresql://mk:SECRET/p@ss:w0rd@127.0.0.1:{_free_port()}/keep"
    monkeypatch.setenv("MODELKEEP_DATABASE_URL", url)
    failed = run("list", code=6)
    assert "cannot connect to PostgreSQL" in failed.stderr
    assert "SECRET" not in failed.output and "w0rd" not in failed.output
    as_json = run("list", "--json", code=6)
    assert "SECRET" not in as_json.output and "w0rd" not in as_json.output
    monkeypatch.setenv("MODELKEEP_DATABASE_URL", "mysql://root:SECRET-MY@db/keep")
    bad = run("list", code=2)
    assert "unsupported database URL" in bad.stderr and "SECRET" not in bad.output


def test_errors_never_print_remote_passwords(project: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    (project / "model").mkdir()
    (project / "model" / "w.bin").write_bytes(b"weights")
    run("register", "bert", "model")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    run("remote", "add", "origin", "s3://bucket/p", "--endpoint-url",
        f"http://user:SECRET-EP@127.0.0.1:{_free_port()}", "--option", "retries=1",
        "--option", "access_key_id=AKIAKEYID", "--option", "secret_access_key=SECRET-SAK")
    run("remote", "add", "inline", "s3://AKIAKEYID:SECRET-URL/pw@bucket/p", "--endpoint-url",
        f"http://127.0.0.1:{_free_port()}", "--option", "retries=1")
    for remote in ("origin", "inline"):
        failed = run("push", "-r", remote, code=6)
        assert failed.stderr.startswith("error: cannot ") and f"remote '{remote}'" in failed.stderr
        assert "SECRET" not in failed.output
        as_json = run("push", "-r", remote, "--json", code=6)
        assert "SECRET" not in as_json.output


def test_a_secret_on_the_command_line_reaches_no_record(project: Path) -> None:
    (project / "model").mkdir()
    (project / "model" / "w.bin").write_bytes(b"weights")
    (project / "train.py").write_text(
        "import argparse, modelkeep\n"
        "p = argparse.ArgumentParser()\n"
        "p.add_argument('--api-key'); p.add_argument('--lr', type=float)\n"
        "args = p.parse_args()\n"
        "with modelkeep.start_run(model='bert') as run:\n"
        "    run.log_params(vars(args))\n"
        "    run.log_pipeline(files=['train.py'])\n"
        "    run.log_metric('loss', 0.5)\n"
        "    run.register_model('model')\n")
    env = {**os.environ, "NCCL_SOCKET_PASS": "SECRETVALUE-NCCL"}
    proc = subprocess.run([sys.executable, "-c", MAIN, "run", "exec", "--model", "bert", "--",
                           sys.executable, "train.py", "--api-key", "SECRETVALUE", "--lr", "0.1",
                           "MODELKEEP_PASSWORD=SECRETVALUE-ASSIGN"],
                          capture_output=True, text=True, cwd=project, timeout=120, env=env)
    assert proc.returncode == 2, proc.stderr  # argparse refuses the stray NAME=VALUE: fine
    proc = subprocess.run([sys.executable, "-c", MAIN, "run", "exec", "--model", "bert", "--",
                           sys.executable, "train.py", "--api-key", "SECRETVALUE", "--lr", "0.1"],
                          capture_output=True, text=True, cwd=project, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "SECRETVALUE" not in proc.stderr + proc.stdout
    seen = [run("show", "bert@1.0.0").output, run("show", "bert@1.0.0", "--json").output]
    for fmt in ("json", "yaml", "proto"):
        run("export", "bert@1.0.0", "--format", fmt, "-o", str(project / f"export.{fmt}"))
    views = {}
    for listed in json.loads(run("runs", "list", "--json").stdout):
        seen.append(run("runs", "show", listed["id"], "--json").output)
        seen.append(run("runs", "show", listed["id"]).output)
        views[listed["status"]] = json.loads(seen[-2])
    assert views["failed"]["command"][-1] == "MODELKEEP_PASSWORD=***"
    view = views["finished"]
    assert view["pipeline"]["command"][-4:] == ["--api-key", "***", "--lr", "0.1"]
    assert view["params"]["api_key"] == "***" and view["params"]["lr"] == 0.1
    run("remote", "add", "origin", str(project / "remote"))
    run("push")
    assert (project / "remote" / "versions" / "bert" / "1.0.0.json").is_file()
    assert not any("SECRETVALUE" in text for text in seen)
    assert _grep(project / ".modelkeep", b"SECRETVALUE") == []
    assert _grep(project / "remote", b"SECRETVALUE") == []
    assert [p for p in project.glob("export.*") if b"SECRETVALUE" in p.read_bytes()] == []
