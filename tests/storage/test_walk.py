import os
from pathlib import Path

import pytest

from modelkeep.errors import InvalidInputError, PathNotFoundError, UnsafePathError
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


def hub_cache_snapshot(cache: Path) -> Path:
    """The Hugging Face cache layout: ``snapshots/<rev>/`` holds relative symlinks into
    ``../../blobs/`` (outside the snapshot folder), nested names too."""
    repo = cache / "models--org--tiny"
    (repo / "blobs").mkdir(parents=True)
    (repo / "blobs" / "aa11").write_bytes(b"weights" * 100)
    (repo / "blobs" / "bb22").write_text('{"hidden": 8}')
    (repo / "blobs" / "cc33").write_text("tokens")
    snap = repo / "snapshots" / "0123abcd"
    (snap / "tok").mkdir(parents=True)
    (snap / "model.safetensors").symlink_to("../../blobs/aa11")
    (snap / "config.json").symlink_to("../../blobs/bb22")
    (snap / "tok" / "vocab.txt").symlink_to("../../../blobs/cc33")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    return snap


def test_symlinks_to_files_anywhere_are_followed_like_cp_L(tmp_path: Path) -> None:
    snap = hub_cache_snapshot(tmp_path / "hub")
    files = {f.rel: f for f in scan(snap)}
    assert sorted(files) == ["config.json", "model.safetensors", "tok/vocab.txt"]
    assert files["model.safetensors"].st.st_size == 700  # the target's size, not the link's
    assert files["tok/vocab.txt"].path.read_text() == "tokens"


def test_a_symlinked_folder_outside_is_followed_and_a_loop_through_it_is_named(tmp_path: Path) -> None:
    (tmp_path / "elsewhere" / "deep").mkdir(parents=True)
    (tmp_path / "elsewhere" / "deep" / "w.bin").write_text("w")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "ext").symlink_to(tmp_path / "elsewhere")
    assert [f.rel for f in scan(tmp_path / "m")] == ["ext/deep/w.bin"]
    (tmp_path / "elsewhere" / "deep" / "up").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafePathError, match=r"ext/deep/up is a symlink loop"):
        scan(tmp_path / "m")


def test_a_dangling_link_or_a_link_loop_is_one_error_naming_it(tmp_path: Path) -> None:
    snap = hub_cache_snapshot(tmp_path / "hub")
    (snap / "gone.bin").symlink_to("../../blobs/missing")
    with pytest.raises(PathNotFoundError, match=r"gone.bin is a dangling symlink"):
        scan(snap)
    (snap / "gone.bin").unlink()
    (snap / "a").symlink_to("b")
    (snap / "b").symlink_to("a")
    with pytest.raises(UnsafePathError, match=r"/(a|b) is a symlink loop"):
        scan(snap)


def test_a_symlink_to_a_device_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "zero").symlink_to("/dev/zero")
    with pytest.raises(InvalidInputError, match="not a regular file"):
        scan(tmp_path / "m")


def test_git_and_keep_folders_are_never_stored(tmp_path: Path) -> None:
    """A model cloned with Git holds .git/: it is left out, as a checkout would refuse it."""
    for rel in (".git/config", "sub/.git", ".modelkeep/config.toml", ".GIT/x", "model.bin", ".gitignore"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    assert [f.rel for f in scan(tmp_path)] == [".gitignore", "model.bin"]
