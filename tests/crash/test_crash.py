"""Crash safety with real processes: SIGKILL in the middle of register, add, checkout, push, pull
and gc leaves no partial object visible and no version pointing at a missing object; fsck is
clean afterwards and running the operation again completes it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelkeep.errors import ModelNotFoundError
from modelkeep.keep import Keep
from modelkeep.storage.hashing import hash_file

DRIVER = Path(__file__).with_name("driver.py")
pytestmark = pytest.mark.slow


def start(op: str, keep: Path, marker: Path, n: int, *args: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, MODELKEEP_WORKERS="2")
    return subprocess.Popen([sys.executable, str(DRIVER), op, str(keep), str(marker), str(n), *args],
                            env=env, stderr=subprocess.PIPE)


def kill_midway(op: str, keep: Path, n: int, *args: str) -> None:
    """Run ``op`` until its n-th progress report, then SIGKILL it."""
    marker = keep.parent / f"{op}-{time.monotonic_ns()}.marker"
    proc = start(op, keep, marker, n, *args)
    deadline = time.monotonic() + 120
    while not marker.exists():
        if proc.poll() is not None:
            pytest.fail(f"{op} ended before its {n}th progress report: {proc.stderr.read()!r}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{op} never reached its {n}th progress report")
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(30) == -signal.SIGKILL


def complete(op: str, keep: Path, *args: str) -> None:
    """Run ``op`` to the end in a fresh process (the re-run after a crash)."""
    proc = start(op, keep, keep.parent / "rerun.marker", 0, *args)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()


def make_model(root: Path, seed: int) -> Path:
    rnd = random.Random(seed)
    (root / "shards").mkdir(parents=True)
    for i in range(24):
        (root / "shards" / f"{i:02d}.bin").write_bytes(rnd.randbytes(256 << 10))
    (root / "big.bin").write_bytes(rnd.randbytes(12 << 20))  # chunked
    (root / "config.json").write_text(f'{{"seed": {seed}}}')
    return root


def same_files(a: Path, b: Path) -> bool:
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    return files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file()) and all(
        (a / f).read_bytes() == (b / f).read_bytes() for f in files)


def assert_clean(keep_root: Path) -> None:
    with_keep(keep_root, lambda k: _check(k))


def _check(k: Keep) -> None:
    report = k.fsck()
    assert report.corrupt == [] and report.missing == [] and report.affected == [], report


def with_keep(root: Path, fn):  # type: ignore[no-untyped-def]
    k = Keep.open(root)
    try:
        return fn(k)
    finally:
        k.close()


@pytest.fixture
def keep_root(tmp_path: Path) -> Path:
    Keep.init(tmp_path / "keep").close()
    return tmp_path / "keep"


def test_register_killed_midway_then_rerun(keep_root: Path, tmp_path: Path) -> None:
    src = make_model(tmp_path / "src", 1)
    kill_midway("register", keep_root, 6, "bert", str(src))
    assert_clean(keep_root)
    with pytest.raises(ModelNotFoundError):
        with_keep(keep_root, lambda k: k.versions("bert"))
    complete("register", keep_root, "bert", str(src))
    with_keep(keep_root, lambda k: k.checkout("bert@1.0.0", tmp_path / "out"))
    assert same_files(src, tmp_path / "out")
    assert_clean(keep_root)


def test_register_killed_at_random_moments(keep_root: Path, tmp_path: Path) -> None:
    """Whatever the moment, the version is either whole or absent."""
    src = make_model(tmp_path / "src", 2)
    rnd = random.Random(7)
    for trial in range(4):
        proc = start("register", keep_root, tmp_path / f"r{trial}.marker", 0, "m", str(src))
        time.sleep(rnd.uniform(0.3, 1.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert_clean(keep_root)
        versions = with_keep(keep_root, lambda k: [v.ref for v in k.models() and k.versions("m")])
        for ref in versions:
            out = tmp_path / f"out-{trial}-{ref}"
            with_keep(keep_root, lambda k, ref=ref, out=out: k.checkout(ref, out))
            assert same_files(src, out)


def test_add_killed_midway_leaves_no_pointer(keep_root: Path) -> None:
    repo = keep_root / "repo"
    make_model(repo / "model", 3)
    kill_midway("add", keep_root, 4, str(repo / "model"))
    assert not (repo / "model.mk").exists()
    assert_clean(keep_root)
    complete("add", keep_root, str(repo / "model"))
    assert (repo / "model.mk").is_file() and "/model" in (repo / ".gitignore").read_text()
    assert_clean(keep_root)


def test_checkout_killed_midway_never_shows_a_partial_file(keep_root: Path, tmp_path: Path) -> None:
    src = make_model(tmp_path / "src", 4)
    with_keep(keep_root, lambda k: k.register("m", src))
    dest = tmp_path / "dest"
    kill_midway("checkout", keep_root, 8, "m@1.0.0", str(dest))
    written = [p for p in dest.rglob("*") if p.is_file() and not p.name.endswith(".mk-tmp")]
    assert 0 < len(written) < 26
    for p in written:  # every file under its real name is complete
        assert p.read_bytes() == (src / p.relative_to(dest)).read_bytes()
    complete("checkout", keep_root, "m@1.0.0", str(dest))
    for p in src.rglob("*"):
        if p.is_file():
            assert (dest / p.relative_to(src)).read_bytes() == p.read_bytes()
    assert_clean(keep_root)


def remote_objects_verify(remote: Path) -> int:
    objects = [p for p in (remote / "objects").rglob("*") if p.is_file()]
    for p in objects:
        assert hash_file(p) == p.parent.name + p.name, f"partial object visible: {p}"
    return len(objects)


def test_push_killed_midway_then_rerun(keep_root: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    with_keep(keep_root, lambda k: (k.register("m", make_model(tmp_path / "v1", 5)),
                                    k.add_remote("origin", str(remote))))
    kill_midway("push", keep_root, 5)
    assert remote_objects_verify(remote) > 0
    assert not (remote / "versions").exists()  # records come after all objects
    complete("push", keep_root)
    total = remote_objects_verify(remote)
    assert total == with_keep(keep_root, lambda k: len(list(k.store.iter_ids())))
    fresh = Keep.init(tmp_path / "fresh")
    fresh.add_remote("origin", str(remote))
    fresh.pull(["m@1.0.0"])
    assert fresh.fsck().ok
    fresh.close()


def test_pull_killed_midway_registers_nothing_then_rerun(keep_root: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    src = make_model(tmp_path / "src", 6)
    with_keep(keep_root, lambda k: (k.register("m", src), k.add_remote("origin", str(remote)), k.push()))
    Keep.init(tmp_path / "fresh").close()
    fresh = tmp_path / "fresh"
    with_keep(fresh, lambda k: k.add_remote("origin", str(remote)))
    kill_midway("pull", fresh, 3, "m@1.0.0")
    with pytest.raises(ModelNotFoundError):
        with_keep(fresh, lambda k: k.versions("m"))
    assert_clean(fresh)
    complete("pull", fresh, "m@1.0.0")
    with_keep(fresh, lambda k: k.checkout("m@1.0.0", tmp_path / "out"))
    assert same_files(src, tmp_path / "out")
    assert_clean(fresh)


def test_gc_killed_midway_then_rerun(keep_root: Path, tmp_path: Path) -> None:
    sources = [make_model(tmp_path / f"v{i}", 10 + i) for i in range(3)]
    with_keep(keep_root, lambda k: [k.register("m", s, version=f"1.0.{i}") for i, s in enumerate(sources)])
    kill_midway("gc", keep_root, 4, "1")
    assert_clean(keep_root)  # pruned versions are recorded before anything is deleted
    complete("gc", keep_root, "1")
    assert_clean(keep_root)
    left = with_keep(keep_root, lambda k: k.gc(grace=0, keep_stable=1))
    assert left.sweep.deleted == []
    with_keep(keep_root, lambda k: k.checkout("m@1.0.2", tmp_path / "out"))
    assert same_files(sources[2], tmp_path / "out")
