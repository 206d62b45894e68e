import os
from pathlib import Path

import pytest

from modelkeep.errors import InvalidInputError, UnsafePathError
from modelkeep.storage.paths import (
    Destination,
    check_restore_path,
    check_tree_path,
    is_reserved_name,
    is_within,
    safe_join,
)


@pytest.mark.parametrize("ok", ["a", "a/b.txt", "ü/ñ", "a..b/c", ".hidden/x"])
def test_safe_paths(ok: str) -> None:
    assert check_tree_path(ok) == ok


@pytest.mark.parametrize("bad", ["", "/etc", "../x", "a/../b", "a//b", "./a", "a/.", "a\\b", "a\x00", 3])
def test_unsafe_paths(bad: object) -> None:
    with pytest.raises(UnsafePathError):
        check_tree_path(bad)


def test_is_within() -> None:
    assert is_within("/a/b", "/a") and is_within("/a", "/a")
    assert not is_within("/ab", "/a") and not is_within("/", "/a")


def test_safe_join_refuses_symlinked_escape(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "ok").mkdir()
    (dest / "link").symlink_to(tmp_path)
    real = Path(os.path.realpath(dest))
    assert safe_join(real, "ok/file") == real / "ok" / "file"
    assert safe_join(real, "new/deep/file") == real / "new" / "deep" / "file"
    with pytest.raises(UnsafePathError):
        safe_join(real, "link/file")
    with pytest.raises(UnsafePathError):
        safe_join(real, "../file")


@pytest.mark.parametrize("name", [".git", ".GIT", ".Git", ".git.", ".git ", ".git. .", "git~1", "GIT~1",
                                  ".git::$INDEX_ALLOCATION", ".g\u200cit", ".\ufeffgit", ".modelkeep",
                                  ".MODELKEEP", ".modelkeep.", "MODELK~1", ".model\u212aeep"])
def test_reserved_names_in_every_spelling(name: str) -> None:
    assert is_reserved_name(name)
    with pytest.raises(UnsafePathError):
        check_restore_path(f"a/{name}/b")


@pytest.mark.parametrize("name", [".gitignore", ".github", "git", ".git2", "x.git", ".modelkeeper", ".gitx."])
def test_names_like_reserved_ones_are_fine(name: str) -> None:
    assert not is_reserved_name(name)
    assert check_restore_path(f"a/{name}") == f"a/{name}"


def test_destination_refuses_git_and_keep_folders_and_protected_ones(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    with pytest.raises(UnsafePathError):
        Destination(tmp_path / ".git" / "hooks")
    with pytest.raises(UnsafePathError):
        Destination(tmp_path / "x" / ".GIT")
    store = tmp_path / "store"
    with pytest.raises(UnsafePathError):
        Destination(store / "objects", protected=[store])
    with Destination(tmp_path, protected=[store]) as dest:
        with pytest.raises(UnsafePathError):
            dest.target("store/objects/ab/cd")
        assert dest.target("model.bin") == Path(os.path.realpath(tmp_path)) / "model.bin"
    assert not (tmp_path / "x").exists()


def test_destination_below_a_root_follows_no_symlink(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "models").symlink_to(outside)
    with pytest.raises(UnsafePathError):
        Destination(root / "models", root=root)
    with pytest.raises(UnsafePathError):
        Destination(root / "models" / "deeper", root=root)
    with pytest.raises(UnsafePathError):
        Destination(tmp_path / "elsewhere", root=root)  # not below the root at all
    (root / "file").write_text("x")
    with pytest.raises(InvalidInputError, match="is a file"):
        Destination(root / "file" / "x", root=root)
    assert list(outside.iterdir()) == []


def test_parent_of_refuses_a_symlink_made_after_the_check(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    with Destination(tmp_path / "dest") as dest:
        dest.target("sub/file")  # checked while sub/ does not exist yet
        (tmp_path / "dest" / "sub").symlink_to(outside)
        with pytest.raises(UnsafePathError), dest.parent_of("sub/file"):
            pass
        with dest.parent_of("new/deep/file") as fd:
            assert os.path.samestat(os.fstat(fd), os.stat(tmp_path / "dest" / "new" / "deep"))
