"""Settings precedence and bad settings: a one-line error, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from modelkeep import config
from modelkeep.errors import InvalidInputError, KeepNotFoundError
from modelkeep.keep import Keep


def test_precedence_env_over_project_over_user(tmp_path, monkeypatch):
    keep = Keep.init(tmp_path / "k")
    user = tmp_path / "user.toml"
    user.write_text('[core]\nauthor = "from-user"\nworkers = 3\n')
    monkeypatch.setenv("MODELKEEP_USER_CONFIG", str(user))
    settings = config.load_settings(keep.settings.root)
    assert (settings.author, settings.workers) == ("from-user", 3)
    cfg = keep.settings.keep_dir / "config.toml"
    cfg.write_text(cfg.read_text().replace("[core]\n", '[core]\nauthor = "from-project"\n'))
    assert config.load_settings(keep.settings.root).author == "from-project"
    monkeypatch.setenv("MODELKEEP_AUTHOR", "from-env")
    assert config.load_settings(keep.settings.root).author == "from-env"
    assert config.load_settings(keep.settings.root, author="from-flag").author == "from-flag"


@pytest.mark.parametrize(("var", "value"), [("MODELKEEP_WORKERS", "many"),
                                            ("MODELKEEP_WORKERS", "0"),
                                            ("MODELKEEP_GC_GRACE", "-1"),
                                            ("MODELKEEP_FLUSH_INTERVAL", "soon")])
def test_bad_numeric_settings_are_clear_errors(tmp_path, monkeypatch, var, value):
    Keep.init(tmp_path / "k")
    monkeypatch.setenv(var, value)
    with pytest.raises(InvalidInputError, match="setting .* must be"):
        config.load_settings(tmp_path / "k")
    proc = subprocess.run([sys.executable, "-m", "modelkeep", "--keep", str(tmp_path / "k"),
                           "list"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.startswith("error: setting ")
    assert "Traceback" not in proc.stderr


def test_malformed_config_toml_is_a_clear_error(tmp_path):
    keep = Keep.init(tmp_path / "k")
    (keep.settings.keep_dir / "config.toml").write_text("[core\nbroken")
    with pytest.raises(InvalidInputError, match="not valid TOML"):
        Keep.open(tmp_path / "k")


def test_keep_is_found_walking_up(tmp_path):
    Keep.init(tmp_path / "k")
    deep = tmp_path / "k" / "a" / "b"
    deep.mkdir(parents=True)
    assert config.find_keep_root(deep) == (tmp_path / "k").resolve()
    with pytest.raises(KeepNotFoundError):
        config.find_keep_root(tmp_path)


@pytest.mark.parametrize("name", ["origin\n", "origin\r", "a\nb"])
def test_a_remote_name_with_a_line_break_is_refused(tmp_path, name):
    keep = Keep.init(tmp_path / "k")
    with pytest.raises(InvalidInputError, match="invalid remote name"):
        keep.add_remote(name, str(tmp_path / "remote"))
    keep.close()
    assert config.load_settings(tmp_path / "k").remotes == {}
