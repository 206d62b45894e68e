"""``Keep.open(location)``, ``--keep`` and ``MODELKEEP_KEEP``: one dispatch (a path, a database
URL with its store, http(s) refused), and never a silent fallback to the keep in the cwd."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from support import cli_run as run
from support import one_line_error

from modelkeep import config
from modelkeep.cli.main import cli
from modelkeep.errors import (
    InvalidInputError,
    KeepNotFoundError,
    ServerNotSupportedError,
    StoreNotSupportedError,
)
from modelkeep.keep import Keep


def _invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.mark.parametrize("how", ["flag", "env"])
def test_a_keep_that_does_not_exist_is_an_error_not_the_cwd_keep(project, how):
    run("register", "here", "model")  # the keep in the cwd holds a model: it must not answer
    missing = project / "no-such-folder"
    if how == "flag":
        result = _invoke("--keep", str(missing), "list")
    else:
        result = _invoke("list", env={"MODELKEEP_KEEP": str(missing)})
    assert result.exit_code == 3
    one_line_error(result, f"no keep at {missing}: it does not exist")
    assert "here" not in result.stdout
    with pytest.raises(KeepNotFoundError) as caught:
        Keep.open(missing)
    assert caught.value.code == "keep_not_found" and caught.value.fields["path"] == str(missing)


@pytest.mark.parametrize("url", ["https://keep.example.com", "http://127.0.0.1:8000/team",
                                 "HTTPS://user:secret@KEEP.EXAMPLE.COM"])
def test_a_server_url_is_refused_never_opened_locally(project, url):
    run("register", "here", "model")
    result = _invoke("--keep", url, "list")
    assert result.exit_code == 2
    one_line_error(result, "no server support yet")
    result = _invoke("list", "--json", env={"MODELKEEP_KEEP": url})
    assert result.exit_code == 2
    assert json.loads(result.stderr)["error"]["code"] == "server_not_supported"
    assert "secret" not in result.stderr  # a password in the URL is never shown
    with pytest.raises(ServerNotSupportedError):
        Keep.open(url)


def test_other_url_schemes_and_an_empty_file_url_are_refused(project):
    result = _invoke("--keep", "s3://bucket/keep", "list")
    assert result.exit_code == 2
    one_line_error(result, "'s3://' is neither a folder nor a database URL")
    result = _invoke("--keep", "file://", "list")  # not the keep in the cwd
    assert result.exit_code == 3
    one_line_error(result, "it does not exist")


@pytest.mark.parametrize("store", ["s3://bucket/objs", "gs://b/o", "memory://x"])
def test_an_object_storage_store_is_refused_not_made_a_local_folder(project, store):
    result = _invoke("list", env={"MODELKEEP_STORE_URL": store})
    assert result.exit_code == 2
    one_line_error(result, "object storage as the primary store is not supported yet")
    assert "modelkeep remote add origin" in result.stderr
    assert sorted(p.name for p in (project / ".modelkeep").iterdir() if ":" in p.name) == []
    cfg = project / ".modelkeep" / "config.toml"
    cfg.write_text(cfg.read_text().replace('store = "objects"', f'store = "{store}"'))
    with pytest.raises(StoreNotSupportedError):
        Keep.open(project)


def test_a_path_inside_a_keep_or_a_file_url_opens_it(project):
    run("register", "here", "model")
    assert [m.name for m in Keep.open(project / "model").models()] == ["here"]
    result = _invoke("--keep", f"file://{project}", "list", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)[0]["name"] == "here"


def _url_keep(tmp_path, make_model, database_url=None):
    made = Keep.init(tmp_path / "k", database_url=database_url)
    made.register("m", make_model(tmp_path / "model"))
    made.close()
    return made.settings.database_url, made.settings.store_path


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_database_url_with_a_store_opens_the_keep(tmp_path, make_model, request, monkeypatch,
                                                   backend):
    pg = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    url, store = _url_keep(tmp_path, make_model, pg)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no keep here or above: only the URL names one
    keep = Keep.open(url, store=store)
    try:
        assert [m.name for m in keep.models()] == ["m"]
        out = keep.checkout("m@1.0.0", tmp_path / "out")
        assert (tmp_path / "out" / "model.bin").read_bytes() == b"weights-v1", out
        assert keep.settings.keep_dir == store / config.STATE_DIRNAME
        keep.add_note("m@1.0.0", "written through the URL keep")
    finally:
        keep.close()
    result = _invoke("--keep", url, "show", "m@1.0.0", "--json",
                     env={"MODELKEEP_STORE_URL": str(store)})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["records"][0]["value"] == "written through the URL keep"
    result = _invoke("list", env={"MODELKEEP_KEEP": url, "MODELKEEP_STORE_URL": f"file://{store}"})
    assert result.exit_code == 0 and "m" in result.stdout


def test_a_database_url_needs_an_existing_store(tmp_path, make_model, monkeypatch):
    url, store = _url_keep(tmp_path, make_model)
    monkeypatch.delenv("MODELKEEP_STORE_URL", raising=False)
    with pytest.raises(InvalidInputError, match="needs its object store"):
        Keep.open(url)
    result = _invoke("--keep", url, "list")
    assert result.exit_code == 2
    one_line_error(result, "needs its object store")
    with pytest.raises(KeepNotFoundError, match="does not exist"):
        Keep.open(url, store=tmp_path / "no-store")
    with pytest.raises(StoreNotSupportedError):
        Keep.open(url, store="s3://bucket/objs")


def test_run_exec_gives_its_child_the_same_url_keep(tmp_path, make_model, monkeypatch):
    url, store = _url_keep(tmp_path, make_model)
    moved = tmp_path / "objects-elsewhere"  # a store outside any keep folder
    store.rename(moved)
    monkeypatch.chdir(tmp_path)
    child = ("import modelkeep; k = modelkeep.Keep.open(); "
             "print(k.settings.database_url, [m.name for m in k.models()])")
    proc = subprocess.run(
        [sys.executable, "-m", "modelkeep", "--keep", url, "run", "exec", "--model", "m", "--",
         sys.executable, "-c", child], capture_output=True, text=True, timeout=120,
        env={**os.environ, "MODELKEEP_STORE_URL": str(moved)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"{url} ['m']"


def test_the_environment_alone_names_a_url_keep_where_no_folder_keep_is(tmp_path, make_model,
                                                                      monkeypatch):
    url, store = _url_keep(tmp_path, make_model)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("MODELKEEP_DATABASE_URL", url)
    with pytest.raises(KeepNotFoundError, match="no modelkeep keep in"):
        Keep.open()  # a database URL without a store is not a keep
    monkeypatch.setenv("MODELKEEP_STORE_URL", str(store))
    keep = Keep.open()
    assert [m.name for m in keep.models()] == ["m"] and keep.settings.store_path == store
    keep.close()
    result = _invoke("list", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)[0]["name"] == "m"


def test_a_url_keep_keeps_its_remotes_beside_its_store(tmp_path, make_model, monkeypatch):
    url, store = _url_keep(tmp_path, make_model)
    monkeypatch.chdir(tmp_path)
    env = {"MODELKEEP_KEEP": url, "MODELKEEP_STORE_URL": str(store)}
    backup = tmp_path / "backup-remote"
    assert _invoke("remote", "add", "origin", str(backup), env=env).exit_code == 0
    assert (store / config.STATE_DIRNAME / "config.toml").is_file()
    pushed = _invoke("push", "m@1.0.0", env=env)
    assert pushed.exit_code == 0, pushed.output
    assert any(backup.rglob("*")), "the remote received nothing"
    listed = _invoke("remote", "list", "--json", env=env)
    assert listed.exit_code == 0 and "origin" in listed.stdout
