import os
from pathlib import Path

import pytest

from modelkeep.errors import UnsafePathError
from modelkeep.storage.walk import SourceFile, scan


def test_scan_sorted_relative_posix(tmp_path: Path) -> None:
    (tmp_path / "b" / "c").mkdir(parents=True)
    for rel in ("z.txt", "b/c/d.bin", "a.txt", "b/e"):
        (tmp_path / rel).write_text(rel)
    files = scan(tmp_path)
    assert [f.rel for f in files] == ["a.txt", "b/c/d.bin", "b/e", "z.txt"]
    assert all(isinstance(f, SourceFile) and f.path == tmp_path / f.rel for f in files)
    assert files[0].st.st_size == len("a.txt")


def test_relative_root_gives_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "f").write_text("x")
    monkeypatch.chdir(tmp_path)
    (f,) = scan(Path("m"))
    assert os.path.isabs(f.os_path) and f.rel == "f"


def test_backslash_names_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a\\b").write_text("x")
    with pytest.raises(UnsafePathError):
        scan(tmp_path)


def test_non_utf8_names_are_refused(tmp_path: Path) -> None:
    name = os.fsdecode(b"bad\xff")
    (tmp_path / name).write_text("x")
    with pytest.raises(UnsafePathError):
        scan(tmp_path)


def test_git_and_keep_folders_are_never_stored(tmp_path: Path) -> None:
    """A model cloned with Git holds .git/: it is left out, as a checkout would refuse it."""
    for rel in (".git/config", "sub/.git", ".modelkeep/config.toml", ".GIT/x", "model.bin", ".gitignore"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    assert [f.rel for f in scan(tmp_path)] == [".gitignore", "model.bin"]
