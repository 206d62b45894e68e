"""S3, GCS and Azure remotes end to end, each through its real protocol against an emulator.

The same tests run on every backend of emulators.py: moto and s3rver (two S3 implementations),
fake-gcs-server (GCS JSON API) and Azurite (Azure Blob). Each goes through the CLI as a user
would: `remote add`, `push`, `pull` (whole and partial), `checkout`; then wrong credentials and
an unreachable endpoint, which must each be one line with a hint and leave nothing behind.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from emulators import Backend, backend, unreachable_options
from s3server import isolate_aws
from safetensors.numpy import load_file, save_file
from support import cli_run as run

pytestmark = [pytest.mark.s3, pytest.mark.slow]
BACKENDS = ["s3-moto", "s3-s3rver", "gcs", "azure"]
# fake-gcs-server accepts any credentials, so wrong ones are tested on the others only; moto's
# credential checks are tested in test_remotes.py on its IAM-enforcing server
CHECKS_CREDENTIALS = ["s3-s3rver", "azure"]


def _option_args(options: dict[str, object]) -> list[str]:
    args: list[str] = []
    for key, value in options.items():
        args += ["--option", f"{key}={json.dumps(value) if not isinstance(value, str) else value}"]
    return args


@pytest.fixture
def cloud(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Backend:
    isolate_aws(monkeypatch, tmp_path)
    # gcsfs must not look for Google credentials on this machine (anonymous, emulator only)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no-google-credentials"))
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    return backend(request.param)


@pytest.fixture
def checkpoint(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """A model folder: a 4 MiB safetensors file of 8 tensors and a small config."""
    rng = np.random.default_rng(7)
    # 4 MiB and more: large enough to be cut at tensor boundaries (smaller files are one blob)
    tensors = {f"block.{i}.weight": rng.standard_normal((512, 256), dtype=np.float32) for i in range(8)}
    model = tmp_path / "model"
    model.mkdir()
    save_file(tensors, str(model / "model.safetensors"))
    (model / "config.json").write_text('{"layers": 8}')
    return model, tensors


def _new_keep(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder.mkdir()
    monkeypatch.chdir(folder)
    run("init")
    return folder


def _add_remote(cloud: Backend, url: str, options: dict[str, object] | None = None) -> None:
    run("remote", "add", "origin", url, *_option_args(options if options is not None else cloud.options))


@pytest.mark.parametrize("cloud", BACKENDS, indirect=True)
def test_push_pull_and_partial_pull(cloud: Backend, checkpoint, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    model, tensors = checkpoint
    url = cloud.url(cloud.new_bucket())
    _new_keep(tmp_path / "a", monkeypatch)
    run("register", "llm", str(model))
    _add_remote(cloud, url)
    pushed = json.loads(run("push", "--json").stdout)
    assert pushed["versions"] == ["llm@1.0.0"] and pushed["objects"] > 0
    assert json.loads(run("push", "--json").stdout)["objects"] == 0  # only what the remote lacks

    b = _new_keep(tmp_path / "b", monkeypatch)
    _add_remote(cloud, url)
    assert "registered llm@1.0.0" in run("pull", "llm@1.0.0").stdout
    run("checkout", "llm@1.0.0", "out")
    for name in ("model.safetensors", "config.json"):
        assert (b / "out" / name).read_bytes() == (model / name).read_bytes()
    assert json.loads(run("fsck", "--json").stdout)["ok"] is True

    c = _new_keep(tmp_path / "c", monkeypatch)
    _add_remote(cloud, url)
    partial = json.loads(run("pull", "llm@1.0.0", "--tensor", "block.3.*", "--json").stdout)
    one = tensors["block.3.weight"].nbytes
    assert one <= partial["bytes"] < 2 * one  # one tensor of eight, and the header
    run("checkout", "llm@1.0.0", "part", "--tensor", "block.3.*")
    loaded = load_file(str(c / "part" / "model.safetensors"))
    assert list(loaded) == ["block.3.weight"]
    np.testing.assert_array_equal(loaded["block.3.weight"], tensors["block.3.weight"])


@pytest.mark.parametrize("cloud", CHECKS_CREDENTIALS, indirect=True)
def test_wrong_credentials_are_refused_in_one_line(cloud: Backend, checkpoint, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert cloud.bad_credentials is not None
    model, _ = checkpoint
    bucket = cloud.new_bucket()
    project = _new_keep(tmp_path / "a", monkeypatch)
    run("register", "llm", str(model))
    _add_remote(cloud, cloud.url(bucket), cloud.bad_credentials)
    failed = run("push", code=6)
    lines = failed.stderr.splitlines()
    assert len(lines) == 2 and "access denied" in lines[0] and lines[1].startswith("hint:")
    assert json.loads(run("push", "--json", code=6).stderr)["error"]["code"] == "remote_auth"
    assert sorted(p.name for p in (project / ".modelkeep" / "tmp").iterdir()) == []
    # nothing reached the bucket: list it with the good credentials
    run("remote", "remove", "origin")
    _add_remote(cloud, cloud.url(bucket))
    _new_keep(tmp_path / "b", monkeypatch)
    _add_remote(cloud, cloud.url(bucket))
    assert json.loads(run("pull", "llm@1.0.0", "--json", code=3).stderr)["error"]["code"] == (
        "version_not_found")


@pytest.mark.parametrize("cloud", BACKENDS, indirect=True)
def test_unreachable_endpoint_fails_fast_in_one_line(cloud: Backend, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _new_keep(tmp_path / "a", monkeypatch)
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "w.bin").write_bytes(os.urandom(10_000))
    run("register", "m", str(tmp_path / "m"))
    url, options = unreachable_options(cloud.name)
    _add_remote(cloud, url, options)
    started = time.monotonic()
    failed = run("push", code=6)
    assert time.monotonic() - started < 30
    lines = failed.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: cannot reach remote 'origin'"), lines
    assert json.loads(run("pull", "m@2.0.0", "--json", code=6).stderr)["error"]["code"] == (
        "remote_unreachable")
