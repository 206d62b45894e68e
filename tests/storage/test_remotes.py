"""Remotes: layout, metadata files, and one clear error for every way a remote can fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from emulators import free_port
from s3server import isolate_aws, s3_server

from modelkeep.errors import InvalidInputError, RemoteAuthError, RemoteError
from modelkeep.storage.remote_errors import translate
from modelkeep.storage.remotes import Remote


@pytest.fixture(params=["local", "memory"])
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Remote:
    if request.param == "local":
        return Remote("origin", str(tmp_path / "remote"))
    return Remote("origin", f"memory://mk-{uuid.uuid4().hex}")


def test_local_paths_resolve_against_the_base(tmp_path: Path) -> None:
    r = Remote("origin", "../shared", base=tmp_path / "keep")
    assert r.is_local and r.root == str((tmp_path / "shared").resolve())
    assert r.object_key("ab" + "0" * 62) == f"{r.root}/objects/ab/{'0' * 62}"
    assert Remote("x", f"file://{tmp_path}/r").root == str(tmp_path / "r")


def test_metadata_files_round_trip(remote: Remote) -> None:
    remote.check(create=True)
    assert remote.read_bytes("versions/m/1.0.0.json") is None
    assert remote.list_names("versions/m") == []
    remote.write_bytes("versions/m/1.0.0.json", b"{}")
    remote.write_bytes("versions/m/1.0.0.json", b'{"a": 1}')
    assert remote.read_bytes("versions/m/1.0.0.json") == b'{"a": 1}'
    assert remote.list_names("versions/m") == ["1.0.0.json"]


def test_missing_and_listing(remote: Remote) -> None:
    remote.check(create=True)
    oids = [f"{i:02x}" + "a" * 62 for i in range(70)]
    for oid in oids[:5]:
        remote.write_bytes(f"objects/{oid[:2]}/{oid[2:]}", b"x")
    assert remote.missing(oids[:10]) == set(oids[5:10])  # few: one check each
    assert remote.missing(oids) == set(oids[5:])  # many: one listing
    assert remote.list_objects() == set(oids[:5])
    assert remote.missing([]) == set()


def test_a_local_remote_that_does_not_exist_is_one_clear_error(tmp_path: Path) -> None:
    r = Remote("backup", str(tmp_path / "nowhere"))
    with pytest.raises(RemoteError, match="backup.*does not exist") as err:
        r.check()
    assert err.value.hint and err.value.exit_code == 6
    r.check(create=True)
    assert (tmp_path / "nowhere" / "objects").is_dir()


def _check_read_only_remote(remote: Remote) -> int:
    """0 when checking a read-only folder remote raises RemoteAuthError (run as any user)."""
    try:
        remote.check(create=True)
    except RemoteAuthError:
        return 0
    return 1


def test_a_read_only_local_remote_is_an_auth_error() -> None:
    # root ignores folder permissions, so as root the check runs in a child that drops to
    # 'nobody'; the folder lives in a world-readable temp dir it can reach
    base = Path(tempfile.mkdtemp())
    try:
        os.chmod(base, 0o755)
        (base / "ro").mkdir()
        os.chmod(base / "ro", 0o555)
        remote = Remote("ro", str(base / "ro"))  # built here: nobody cannot read root's packages
        if os.geteuid() != 0:
            assert _check_read_only_remote(remote) == 0
            return
        pid = os.fork()
        if pid == 0:  # child: become nobody, report through the exit code
            code = 2
            try:
                os.setgid(65534)
                os.setuid(65534)
                code = _check_read_only_remote(remote)
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_unknown_protocol_and_bad_options_are_input_errors() -> None:
    with pytest.raises(InvalidInputError, match="unusable URL"):
        Remote("x", "nosuchproto://bucket/p")


MISSING_EXTRA = """
import sys
sys.modules["gcsfs"] = sys.modules["adlfs"] = None  # import fails, as where the extra is missing
from modelkeep.errors import RemoteError
from modelkeep.storage.remotes import Remote
for url in ("gs://bucket/p", "az://bucket/p"):
    try:
        Remote("x", url)
    except RemoteError as err:
        print(err.message, "|", err.hint)
"""


def test_a_missing_extra_names_the_pip_command() -> None:
    # the test extra installs gcsfs and adlfs, so a fresh interpreter is told they are missing
    out = subprocess.run([sys.executable, "-c", MISSING_EXTRA], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert len(out) == 2
    assert "needs the 'gcs' extra" in out[0] and out[0].endswith("| pip install 'modelkeep[gcs]'")
    assert "needs the 'azure' extra" in out[1] and out[1].endswith("| pip install 'modelkeep[azure]'")


@pytest.mark.s3
def test_s3_unreachable_endpoint_fails_fast_with_a_hint(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_aws(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    port = free_port()  # nothing listens there once the probe socket closed
    r = Remote("origin", "s3://bucket/p", {"endpoint_url": f"http://127.0.0.1:{port}", "retries": 1})
    started = time.monotonic()
    with pytest.raises(RemoteError, match="cannot reach remote 'origin'") as err:
        r.check()
    assert time.monotonic() - started < 10
    assert "endpoint_url" in (err.value.hint or "")
    assert "\n" not in err.value.message


@pytest.mark.s3
def test_s3_missing_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = s3_server(auth=True)
    isolate_aws(monkeypatch, tmp_path)
    r = Remote("origin", f"s3://{server.new_bucket()}/p", {"endpoint_url": server.endpoint})
    with pytest.raises(RemoteAuthError, match="access denied") as err:
        r.check()
    assert "AWS_ACCESS_KEY_ID" in (err.value.hint or "")


@pytest.mark.s3
def test_s3_wrong_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = s3_server(auth=True)
    isolate_aws(monkeypatch, tmp_path)
    bucket = server.new_bucket()

    def remote(key: str, secret: str) -> Remote:
        return Remote("origin", f"s3://{bucket}/p", {"endpoint_url": server.endpoint, "retries": 1,
                                                     "access_key_id": key, "secret_access_key": secret})

    good = remote(server.key, server.secret)
    good.write_bytes("aliases/m.json", b"{}")
    assert good.read_bytes("aliases/m.json") == b"{}"
    for key, secret in [(server.key, "wrong"), ("AKIANOTAKEY000000000", server.secret)]:
        with pytest.raises(RemoteAuthError, match="access denied"):
            remote(key, secret).read_bytes("aliases/m.json")
        with pytest.raises(RemoteAuthError):
            remote(key, secret).write_bytes("aliases/x.json", b"{}")
    import boto3

    listing = boto3.client("s3", endpoint_url=server.endpoint, aws_access_key_id=server.key,
                           aws_secret_access_key=server.secret, region_name="us-east-1")
    keys = [o["Key"] for o in listing.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == ["p/aliases/m.json"]  # nothing was written with the wrong keys


def test_backend_errors_translate_to_one_line_each() -> None:
    class EndpointConnectionError(Exception):  # named like botocore's: matched by class name
        pass

    cases = [
        (FileNotFoundError("The specified bucket does not exist"), RemoteError, "does not exist"),
        (PermissionError("Forbidden"), RemoteAuthError, "access denied"),
        (EndpointConnectionError("Could not connect\nto the endpoint"), RemoteError, "cannot reach"),
        (ConnectionRefusedError(111, "refused"), RemoteError, "cannot reach"),
        (OSError(28, "No space left"), RemoteError, "is full"),
        (RuntimeError("boom"), RemoteError, "boom"),
    ]
    for exc, cls, text in cases:
        err = translate(exc, "origin", "s3://b/p", "push to")
        assert type(err) is cls and text in err.message and "\n" not in err.message
        assert err.hint and err.fields["remote"] == "origin"


@pytest.mark.s3
def test_s3_happy_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = s3_server()
    isolate_aws(monkeypatch, tmp_path, server)
    r = Remote("origin", f"s3://{server.new_bucket()}/team/models",
               {"endpoint_url": server.endpoint, "region": "us-east-1"})
    r.check(create=True)
    r.write_bytes("aliases/m.json", b"{}")
    assert r.read_bytes("aliases/m.json") == b"{}"
    assert r.list_names("aliases") == ["m.json"]


def test_clean_tmp_removes_only_old_leftovers(tmp_path: Path) -> None:
    r = Remote("origin", str(tmp_path / "remote"))
    r.check(create=True)
    old, new = Path(r.key("tmp/a.part")), Path(r.key("tmp/b.part"))
    old.write_bytes(b"left by a killed push")
    new.write_bytes(b"a push in flight")
    os.utime(old, (time.time() - 7200,) * 2)
    assert r.clean_tmp(older_than=3600) == 1
    assert not old.exists() and new.exists()
    assert Remote("m", f"memory://mk-{uuid.uuid4().hex}").clean_tmp() == 0
