"""push, pull and remote commands end to end; every remote failure is one line with a hint."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from support import cli_run as run


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    run("init")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "w.bin").write_bytes(os.urandom(200_000))
    run("register", "bert", "model")
    return tmp_path


def test_remote_add_list_remove(project: Path) -> None:
    run("remote", "add", "origin", "../shared")
    run("remote", "add", "s3", "s3://bucket/models", "--endpoint-url", "http://127.0.0.1:9000",
        "--region", "eu-west-1", "--option", "retries=2")
    listed = json.loads(run("remote", "list", "--json").stdout)
    assert listed["origin"]["url"] == str((project.parent / "shared").resolve())
    assert listed["s3"] == {"url": "s3://bucket/models", "endpoint_url": "http://127.0.0.1:9000",
                            "region": "eu-west-1", "retries": 2}
    assert "s3://bucket/models" in run("remote", "list").stdout
    bad = run("remote", "add", "origin", "/x", code=2)
    assert "already exists" in bad.stderr and "hint:" in bad.stderr
    run("remote", "remove", "s3")
    assert list(json.loads(run("remote", "list", "--json").stdout)) == ["origin"]
    # one code for an unknown remote, whichever command names it (push says the same)
    assert "no remote named 's3'" in run("remote", "remove", "s3", code=3).stderr
    assert "invalid remote name" in run("remote", "add", "1bad", "/x", code=2).stderr
    twice = run("remote", "add", "gcs", "gs://b/p", "--endpoint-url", "http://127.0.0.1:1",
                "--option", "endpoint_url=http://127.0.0.1:2", code=2)
    assert "'endpoint_url' given twice" in twice.stderr and "Traceback" not in twice.output
    run("remote", "add", "gcs", "gs://b/p", "--option", "endpoint_url=http://127.0.0.1:2")
    assert json.loads(run("remote", "list", "--json").stdout)["gcs"]["endpoint_url"] == "http://127.0.0.1:2"


def test_push_then_pull_into_a_fresh_keep(project: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    run("remote", "add", "origin", str(tmp_path / "shared"))
    pushed = json.loads(run("push", "--json").stdout)
    assert pushed["versions"] == ["bert@1.0.0"] and pushed["objects"] > 0
    assert "0 objects" in run("push", "bert@1.0.0").stdout
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.chdir(other)
    run("init")
    run("remote", "add", "origin", str(tmp_path / "shared"))
    out = run("pull", "bert@1.0.0").stdout
    assert "registered bert@1.0.0" in out
    run("checkout", "bert@1.0.0", "restored")
    assert (other / "restored" / "w.bin").read_bytes() == (project / "model" / "w.bin").read_bytes()
    assert "version_not_found" in run("pull", "bert@2.0.0", "--json", code=3).stderr


def test_remote_failures_are_one_line_with_a_hint(project: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    missing = run("push", code=3)
    assert missing.stderr.splitlines()[0] == "error: no remote named 'origin'"
    assert missing.stderr.splitlines()[1].startswith("hint: add one")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    run("remote", "add", "origin", "s3://bucket/p", "--endpoint-url", f"http://127.0.0.1:{port}",
        "--option", "retries=1")
    before = sorted(p.name for p in (project / ".modelkeep" / "objects").rglob("*"))
    result = run("push", code=6)
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: cannot reach remote 'origin'")
    assert lines[1].startswith("hint:")
    assert sorted(p.name for p in (project / ".modelkeep" / "objects").rglob("*")) == before
    # a version all here still asks the remote for the records appended to it since
    for ref in ("bert@1.0.0", "bert@2.0.0"):
        failed = json.loads(run("pull", ref, "--json", code=6).stderr)
        assert failed["error"]["code"] == "remote_unreachable"
    assert sorted(p.name for p in (project / ".modelkeep" / "objects").rglob("*")) == before


def test_pull_with_nothing_to_do_says_so(project: Path) -> None:
    result = run("pull", code=2)
    assert "no .mk pointer files here" in result.stderr


def _pull_fails_naming(url: str, *refs: str) -> None:
    """Each pull is one remote_unreachable error (exit 6) whose message holds the URL."""
    for ref in refs:
        failed = run("pull", *([ref] if ref else []), "--json", code=6)
        error = json.loads(failed.stderr)["error"]
        assert error["code"] == "remote_unreachable", (ref, error)
        assert url in error["message"] and "does not exist" in error["message"]
        text = run("pull", *([ref] if ref else []), code=6).stderr.splitlines()
        assert len(text) == 2 and url in text[0] and text[1].startswith("hint:")


def test_pulling_from_a_folder_that_does_not_exist_names_it(project: Path, tmp_path: Path) -> None:
    url = str(tmp_path / "no-such-folder")
    run("remote", "add", "origin", url)
    _pull_fails_naming(url, "bert@2.0.0", "gpt@1.0.0", "gpt@latest", "bert@production")
    assert not (tmp_path / "no-such-folder").exists()


@pytest.mark.s3
def test_pulling_from_a_bucket_that_does_not_exist_names_it(project: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from s3server import isolate_aws, s3_server

    server = s3_server()
    isolate_aws(monkeypatch, tmp_path, server)
    url = "s3://mk-no-such-bucket/team/models"
    run("remote", "add", "origin", url, "--endpoint-url", server.endpoint, "--region", "us-east-1")
    _pull_fails_naming(url, "bert@2.0.0", "gpt@latest", "bert@production")
    # an existing bucket without the version is still version_not_found
    run("remote", "add", "real", f"s3://{server.new_bucket()}/m", "--endpoint-url", server.endpoint,
        "--region", "us-east-1")
    run("push", "-r", "real")
    assert json.loads(run("pull", "bert@2.0.0", "-r", "real", "--json", code=3).stderr)[
        "error"]["code"] == "version_not_found"
