"""Disk-full behaviour, on a real 1 MiB tmpfs mounted in a private mount namespace."""

import subprocess
import sys
import textwrap
from pathlib import Path

from support import skip_outside_ci

from modelkeep.storage.durable import syncfs, write_file_atomic

SCRIPT = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from modelkeep.errors import DiskFullError
    from modelkeep.storage.objects import ObjectStore
    from modelkeep.storage.tree import add_path
    root = Path(sys.argv[1])
    os.makedirs(root, exist_ok=True)
    assert os.system(f"mount -t tmpfs -o size=1m tmpfs {root}") == 0
    store = ObjectStore(root / "objects", root / "tmp")
    small = store.put_bytes(b"fits")
    src = Path(sys.argv[2])
    try:
        add_path(store, src)
    except DiskFullError as exc:
        left = sorted(os.listdir(root / "tmp"))
        ids = sorted(store.iter_ids())
        print("DISKFULL", exc.code, left, ids == [small])
    try:
        store.put_bytes(os.urandom(2 << 20))
    except DiskFullError:
        print("DISKFULL2", os.listdir(root / "tmp"))
    """
)


def test_disk_full_leaves_nothing_partial(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(4):
        (src / f"f{i}").write_bytes(bytes([i]) * 400_000)
    cmd = ["unshare", "--user", "--map-root-user", "--mount", sys.executable, "-c", SCRIPT]
    try:
        out = subprocess.run(
            [*cmd, str(tmp_path / "mnt"), str(src)], capture_output=True, text=True, timeout=60
        )
    except FileNotFoundError:
        skip_outside_ci("unshare is not installed")
    if "mount" in out.stderr and "DISKFULL" not in out.stdout:
        skip_outside_ci(f"cannot mount a tmpfs here: {out.stderr[-200:]}")
    assert "DISKFULL disk_full [] True" in out.stdout, out.stderr
    assert "DISKFULL2 []" in out.stdout, out.stderr


def test_write_file_atomic_replaces(tmp_path: Path) -> None:
    target = tmp_path / "f"
    write_file_atomic(target, b"one")
    write_file_atomic(target, b"two", durable=False)
    assert target.read_bytes() == b"two" and [p.name for p in tmp_path.iterdir()] == ["f"]
    syncfs(target)


def test_large_writes_go_to_the_kernel_in_small_pieces(tmp_path: Path, monkeypatch) -> None:
    """One write() of megabytes makes the kernel allocate large page-cache folios, 3-5x slower
    on this VM than the same bytes in 128 KiB pieces (docs/benchmarks.md); every byte still
    lands, in order, with either write function."""
    import os

    from modelkeep.storage import durable

    sizes: list[int] = []
    real_write, real_pwrite = os.write, os.pwrite

    def spy_write(fd: int, data) -> int:  # records what the kernel is asked for, then writes
        sizes.append(len(data))
        return real_write(fd, data)

    def spy_pwrite(fd: int, data, offset: int) -> int:
        sizes.append(len(data))
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(durable.os, "write", spy_write)
    monkeypatch.setattr(durable.os, "pwrite", spy_pwrite)
    data = os.urandom(3 * durable.WRITE_PIECE + 123)
    out = tmp_path / "out"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT)
    try:
        durable.write_all(fd, data)
        durable.write_all_at(fd, data, len(data))
    finally:
        os.close(fd)
    assert out.read_bytes() == data + data
    assert max(sizes) <= durable.WRITE_PIECE and len(sizes) == 8
