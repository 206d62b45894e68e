"""register where models live on disk: a Hugging Face cache snapshot and a DVC symlink workspace."""

from __future__ import annotations

import os
from pathlib import Path

from support import cli_run as run
from test_walk import hub_cache_snapshot


def dvc_symlink_workspace(root: Path) -> Path:
    """A DVC workspace with ``cache.type symlink``: each tracked file is a read-only cache file
    under ``.dvc/cache/files/md5/`` reached through an absolute symlink."""
    cache = root / ".dvc" / "cache" / "files" / "md5"
    workspace = root / "models" / "resnet"
    workspace.mkdir(parents=True)
    for name, data in {"weights.pt": os.urandom(50_000), "labels.txt": b"cat\ndog\n"}.items():
        blob = cache / name[:2] / f"{len(data):030x}"
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        blob.chmod(0o444)
        (workspace / name).symlink_to(blob)
    return workspace


def test_a_hub_cache_snapshot_registers_and_checks_out_as_regular_files(project: Path) -> None:
    snap = hub_cache_snapshot(project / "hub")
    run("register", "tiny", str(snap))
    run("checkout", "tiny@1.0.0", "out")
    for rel in ["model.safetensors", "config.json", "tok/vocab.txt"]:
        written = project / "out" / rel
        assert not written.is_symlink() and written.is_file()
        assert written.read_bytes() == (snap / rel).read_bytes()


def test_a_dvc_symlink_workspace_registers(project: Path) -> None:
    workspace = dvc_symlink_workspace(project)
    run("register", "resnet", str(workspace))
    run("checkout", "resnet@1.0.0", "out")
    assert sorted(p.name for p in (project / "out").iterdir()) == ["labels.txt", "weights.pt"]
    assert not (project / "out" / "weights.pt").is_symlink()
    assert (project / "out" / "weights.pt").read_bytes() == (workspace / "weights.pt").read_bytes()


def test_a_dangling_link_is_one_line_naming_it_and_nothing_is_registered(project: Path) -> None:
    snap = hub_cache_snapshot(project / "hub")
    (snap / "gone.bin").symlink_to("../../blobs/missing")
    result = run("register", "tiny", str(snap), code=2)
    assert "gone.bin is a dangling symlink" in result.stderr
    assert "Traceback" not in result.output and result.stderr.count("\n") <= 2
    assert "tiny" not in run("list").stdout
