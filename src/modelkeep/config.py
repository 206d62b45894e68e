"""Settings. Every ``MODELKEEP_*`` environment variable is defined here and nowhere else.

Precedence, highest first: an explicit argument (CLI flag) > environment variable >
project config (``.modelkeep/config.toml``) > user config (``~/.config/modelkeep/config.toml``)
> built-in default.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelkeep.errors import InvalidInputError, KeepNotFoundError

KEEP_DIRNAME = ".modelkeep"
CONFIG_FILENAME = "config.toml"
DB_FILENAME = "modelkeep.db"

# name -> what it sets (the docs test checks each one is documented in docs/configuration.md)
ENVIRONMENT_VARIABLES: dict[str, str] = {
    "MODELKEEP_KEEP": "path or URL of the keep to open (instead of walking up from the cwd)",
    "MODELKEEP_AUTHOR": "author recorded on versions, aliases and runs (default: the OS user)",
    "MODELKEEP_DATABASE_URL": "SQLAlchemy URL of the metadata database (default: SQLite in the keep)",
    "MODELKEEP_STORE_URL": "fsspec URL or path of the object store (default: the keep's objects/)",
    "MODELKEEP_USER_CONFIG": "path of the user config file (default ~/.config/modelkeep/config.toml)",
    "MODELKEEP_WORKERS": "threads used for hashing, checkout and transfers (default: CPU count)",
    "MODELKEEP_RUN_ID": "run that `modelkeep run log` and child processes log to",
    "MODELKEEP_FLUSH_INTERVAL": "seconds between background flushes of buffered metrics (default 1)",
}


def env(name: str) -> str | None:
    """Read a declared MODELKEEP_* variable; reading an undeclared one is a programming error."""
    if name not in ENVIRONMENT_VARIABLES:
        raise KeyError(f"{name} is not a declared modelkeep environment variable")
    value = os.environ.get(name)
    return value if value else None


def user_config_path() -> Path:
    """Where the user-wide config lives."""
    override = env("MODELKEEP_USER_CONFIG")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "modelkeep" / CONFIG_FILENAME


def read_toml(path: Path) -> dict[str, Any]:
    """Load a TOML file, or {} when absent; a malformed file is a one-line user error."""
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError(
            f"config file {path} is not valid TOML: {exc}",
            hint=f"fix or remove {path}",
            path=str(path),
        ) from exc


def find_keep_root(start: Path | None = None) -> Path:
    """Walk up from ``start`` (default cwd) to the folder holding ``.modelkeep/``, like git."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / KEEP_DIRNAME / CONFIG_FILENAME).is_file():
            return folder
    raise KeepNotFoundError(
        f"no modelkeep keep in {here} or any parent folder",
        hint="run 'modelkeep init' here, or pass --keep PATH",
        path=str(here),
    )


@dataclass(frozen=True)
class Settings:
    """Resolved settings for one open keep."""

    root: Path
    database_url: str
    store_path: Path
    author: str
    workers: int
    hash_algorithm: str = "blake3"
    retention_stable: int = 3
    remotes: dict[str, dict[str, Any]] = field(default_factory=dict)
    flush_interval: float = 1.0

    @property
    def keep_dir(self) -> Path:
        return self.root / KEEP_DIRNAME

    @property
    def tmp_dir(self) -> Path:
        return self.keep_dir / "tmp"


def _default_author() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def load_settings(root: Path, *, database_url: str | None = None, author: str | None = None
                  ) -> Settings:
    """Resolve settings for the keep at ``root`` with the documented precedence."""
    keep_dir = root / KEEP_DIRNAME
    user = read_toml(user_config_path())
    project = read_toml(keep_dir / CONFIG_FILENAME)

    def pick(key: str, env_name: str | None, default: Any) -> Any:
        if env_name and env(env_name):
            return env(env_name)
        for source in (project, user):
            section = source.get("core", {})
            if key in section:
                return section[key]
        return default

    db_url = database_url or pick(
        "database_url", "MODELKEEP_DATABASE_URL", f"sqlite:///{keep_dir / DB_FILENAME}"
    )
    store = pick("store", "MODELKEEP_STORE_URL", str(keep_dir / "objects"))
    store_path = Path(store)
    if not store_path.is_absolute():
        store_path = keep_dir / store_path
    workers = int(pick("workers", "MODELKEEP_WORKERS", os.cpu_count() or 2))
    flush = float(pick("flush_interval", "MODELKEEP_FLUSH_INTERVAL", 1.0))
    retention = project.get("gc", {}).get("keep_stable", user.get("gc", {}).get("keep_stable", 3))
    return Settings(
        root=root,
        database_url=str(db_url),
        store_path=store_path,
        author=author or pick("author", "MODELKEEP_AUTHOR", _default_author()),
        workers=max(1, workers),
        hash_algorithm=project.get("core", {}).get("hash", "blake3"),
        retention_stable=int(retention),
        remotes=dict(project.get("remotes", {})),
        flush_interval=flush,
    )


def default_config_text() -> str:
    """The config.toml that ``modelkeep init`` writes."""
    return (
        "# modelkeep keep configuration. Precedence: CLI flag > MODELKEEP_* env > this file >\n"
        "# user config > default. See docs/configuration.md.\n"
        "[core]\n"
        'hash = "blake3"\n'
        'store = "objects"\n'
        "\n"
        "[gc]\n"
        "# stable versions of each model kept by 'modelkeep gc' besides aliased ones\n"
        "keep_stable = 3\n"
        "\n"
        "# [remotes.origin]\n"
        '# url = "s3://bucket/prefix"\n'
    )
