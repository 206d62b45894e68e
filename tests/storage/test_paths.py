import os
from pathlib import Path

import pytest

from modelkeep.errors import UnsafePathError
from modelkeep.storage.paths import check_tree_path, is_within, safe_join


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
