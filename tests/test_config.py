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


def test_an_unsupported_hash_algorithm_is_refused(tmp_path):
    keep = Keep.init(tmp_path / "k")
    path = keep.settings.keep_dir / "config.toml"
    path.write_text(path.read_text().replace('hash = "blake3"', 'hash = "sha256"'))
    with pytest.raises(InvalidInputError, match="hash algorithm 'sha256'") as err:
        Keep.open(tmp_path / "k")
    assert "blake3" in err.value.message


HAND_DAMAGED = [
    ("store = 5", 'store = "objects"', "store = 5"),
    ("core not a table", '[core]\nhash = "blake3"\nstore = "objects"\n', 'core = 5\n[x]\n'),
    ("author not a string", '[core]\n', '[core]\nauthor = 7\n'),
    ("remotes not a table", '# modelkeep keep', 'remotes = "x"\n# modelkeep keep'),
    ("a remote not a table", '[gc]', '[remotes]\norigin = 5\n[gc]'),
    ("a remote url not a string", '[gc]', '[remotes.origin]\nurl = 5\n[gc]'),
    ("gc not a table", '# modelkeep keep', 'gc = 1\n# modelkeep keep'),
    ("database in a missing folder", '[core]\n', '[core]\ndatabase_url = "sqlite:////no/such/dir/x.db"\n'),
    ("hash not a string", 'hash = "blake3"', "hash = 3"),
]


@pytest.mark.parametrize(("what", "old", "new"), HAND_DAMAGED, ids=[c[0] for c in HAND_DAMAGED])
def test_hand_damaged_config_is_one_line_per_command(tmp_path, what, old, new):
    Keep.init(tmp_path / "k")
    path = tmp_path / "k" / ".modelkeep" / "config.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    for args in (["list"], ["remote", "list"], ["push"], ["fsck"]):
        proc = subprocess.run([sys.executable, "-m", "modelkeep", *args], cwd=tmp_path / "k",
                              capture_output=True, text=True)
        assert proc.returncode != 0, (what, args, proc.stdout)
        assert "Traceback" not in proc.stderr, (what, args, proc.stderr)
        assert proc.stderr.startswith("error: "), (what, args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) <= 2, (what, args, proc.stderr)


def test_remote_edits_keep_comments_and_any_valid_toml(tmp_path):
    keep = Keep.init(tmp_path / "k")
    path = keep.settings.keep_dir / "config.toml"
    path.write_text(path.read_text() + '\n[remotes.origin]  # team bucket\nurl = "s3://b/p"  # prod\n'
                    '\n[remotes."with space"]\nurl = "/x"\n')
    keep = Keep.open(tmp_path / "k")
    assert set(keep.remotes()) == {"origin", "with space"}
    keep.remove_remote("origin")
    text = path.read_text()
    assert 's3://b/p' not in text and "# stable versions of each model" in text
    assert '[remotes."with space"]' in text
    keep.add_remote("backup", "s3://b/q", endpoint_url="http://127.0.0.1:9", **{"odd key]": "v"})
    assert config.read_toml(path)["remotes"]["backup"]["odd key]"] == "v"
    assert "# stable versions of each model" in path.read_text()
    for bad in ("origin\n", "a.b", "a]b", ""):
        with pytest.raises(InvalidInputError, match="invalid remote name"):
            keep.add_remote(bad, "/x")
def test_config_with_credentials_is_owner_only(tmp_path):
    import os
    import stat

    keep = Keep.init(tmp_path / "k")
    path = keep.settings.keep_dir / config.CONFIG_FILENAME
    os.chmod(path, 0o640)  # a group-shared keep
    keep.add_remote("plain", str(tmp_path / "r"), region="eu-west-1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # nothing secret: the mode it had
    stale = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    stale.write_text("stale")
    os.chmod(stale, 0o644)
    keep.add_remote("cloud", "s3://bucket/p", secret_access_key="SECRET")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keep.remotes()["cloud"]["secret_access_key"] == "***"
    assert keep.remote("cloud").fs.secret == "SECRET"  # the real value is still used
    keep.close()
@pytest.mark.parametrize("name", ["origin\n", "origin\r", "a\nb"])
def test_a_remote_name_with_a_line_break_is_refused(tmp_path, name):
    keep = Keep.init(tmp_path / "k")
    with pytest.raises(InvalidInputError, match="invalid remote name"):
        keep.add_remote(name, str(tmp_path / "remote"))
    keep.close()
    assert config.load_settings(tmp_path / "k").remotes == {}
