"""Several real processes registering versions of one model at once: no shared number, none lost."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

WORKER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from modelkeep.keep import Keep

    keep = Keep.open(sys.argv[1])
    folder = Path(sys.argv[2])
    for i in range(int(sys.argv[3])):
        (folder / "w.bin").write_bytes(f"{sys.argv[4]}-{i}".encode())
        print(keep.register("shared", folder, bump="patch").version, flush=True)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_registrations(request, tmp_path, backend):
    from modelkeep.keep import Keep

    url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    keep = Keep.init(tmp_path / "k", database_url=url)
    processes, per_process = 6, 8
    workers = []
    for p in range(processes):
        folder = tmp_path / f"src{p}"
        folder.mkdir()
        workers.append(subprocess.Popen(
            [sys.executable, "-c", WORKER, str(tmp_path / "k"), str(folder), str(per_process),
             str(p)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    printed = []
    for w in workers:
        out, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
        printed += out.split()
    assert len(printed) == len(set(printed)) == processes * per_process
    registered = [v.version for v in keep.versions("shared")]
    assert sorted(registered) == sorted(printed)
    assert registered[-1] == f"0.0.{processes * per_process}"  # first patch bump is 0.0.1
